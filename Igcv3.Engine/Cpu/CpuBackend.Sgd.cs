using System.Numerics;

namespace Igcv3.Engine.Cpu;

public sealed partial class CpuBackend
{
    public void SgdStep(Tensor parameters, Tensor gradients, Tensor momentum, SgdSpec spec) =>
        ByType(parameters.DType, () => SgdKernel<float>(parameters, gradients, momentum, spec), () => SgdKernel<double>(parameters, gradients, momentum, spec));

    // p, g, buf [P]: g' = g + wd·p (i < decayed); buf = μ·buf + g'; d = g' + μ·buf (Nesterov) or buf; p -= lr·d.
    // Momentum 0 leaves buf = g', so plain SGD falls out of the same loop.
    private static void SgdKernel<T>(Tensor parameters, Tensor gradients, Tensor momentum, SgdSpec spec) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<T> p = Span<T>(parameters), buf = Span<T>(momentum);
        ReadOnlySpan<T> g = Span<T>(gradients);
        if (g.Length != p.Length || buf.Length != p.Length) throw new ArgumentException("sgd: parameter, gradient and momentum buffers must have one length");
        T lr = spec.LearningRateTensor is { } rate ? Span<T>(rate)[0] : Cast<T>(spec.LearningRate), mu = Cast<T>(spec.Momentum), wd = Cast<T>(spec.WeightDecay);
        long decayed = Math.Clamp(spec.DecayedCount, 0, p.Length);
        for (int i = 0; i < p.Length; i++)
        {
            T grad = i < decayed ? g[i] + wd * p[i] : g[i];
            buf[i] = mu * buf[i] + grad;
            T direction = spec.Nesterov ? grad + mu * buf[i] : buf[i];
            p[i] -= lr * direction;
        }
    }
}
