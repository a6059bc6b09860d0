using Igcv3.Engine;

namespace Igcv3.Kernels.Cuda;

// sgd.cu: one pass over the flat parameter, gradient and momentum buffers [P].
public sealed partial class CudaBackend
{
    /// <summary>g = grad + wd·p (first DecayedCount only); buf = μ·buf + g; p −= lr·(Nesterov ? g + μ·buf : buf).
    /// The rate is a float argument, or read by the kernel from <see cref="SgdSpec.LearningRateTensor"/>
    /// when that is set (a captured step replays with the rate written there before each replay).</summary>
    public void SgdStep(Tensor parameters, Tensor gradients, Tensor momentum, SgdSpec spec)
    {
        Enter();
        if (gradients.Count != parameters.Count || momentum.Count != parameters.Count)
        {
            throw new ArgumentException("sgd: parameter, gradient and momentum buffers must have one length");
        }
        int n = CheckedCount("sgd", parameters.Count, "the parameters");
        if (n == 0) return;
        int decayed = (int)Math.Clamp(spec.DecayedCount, 0, n);
        if (spec.LearningRateTensor is { Count: not 1 } rate) throw new ArgumentException($"sgd: the learning rate tensor must hold one element, got {rate}");
        Launch(CudaKernels.SgdStep, new Dim3(GemmTiles.StrideGrid(n, BlockThreads, 65535)),
            F32(parameters), F32(gradients), F32(momentum), n, decayed,
            (float)spec.LearningRate, (float)spec.Momentum, (float)spec.WeightDecay, spec.Nesterov ? 1 : 0,
            F32OrNull(spec.LearningRateTensor, "the learning rate tensor"));
    }
}
