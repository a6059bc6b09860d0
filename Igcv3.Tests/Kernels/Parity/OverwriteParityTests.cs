using Igcv3.Engine;
using Igcv3.Kernels.Cuda;
using Xunit;
using static Igcv3.Tests.Kernels.Parity.Parity;

namespace Igcv3.Tests.Kernels.Parity;

/// <summary>
/// The overwrite rule for unwritten gradients, against the CPU reference: every backward method is
/// called twice on the same gradients, first unwritten and full of NaN (the kernel must overwrite
/// each element without reading it: a NaN left or read fails the comparison), then written (the
/// second call must accumulate, doubling them). Odd sizes, so the scalar paths run beside the float4
/// ones; this is what lets a training step skip the memsets that zeroed its activation gradients.
/// </summary>
public abstract class OverwriteParityTests(DeviceFixture fixture)
{
    [Collection(CudaCollection.Name), Trait("device", "gpu")]
    public sealed class OnGpu(CudaFixture fixture) : OverwriteParityTests(fixture);

    [Collection(EmulatedCollection.Name), Trait("device", "emulated")]
    public sealed class OnEmulatedDevice(EmulatedFixture fixture) : OverwriteParityTests(fixture);

    private static Tensor On(IBackend backend, (Tensor Cpu, Tensor Gpu) pair) => ReferenceEquals(backend, Cpu) ? pair.Cpu : pair.Gpu;

    /// <summary>Runs <paramref name="backward"/> on both backends twice into the same gradients,
    /// unwritten the first time, and compares after each round.</summary>
    private static void Twice(IBackend gpu, string name, double tolerance, Shape[] gradients, Action<IBackend, Tensor[]> backward)
    {
        var grads = gradients.Select(s => Unwritten(gpu, s)).ToArray();
        for (int round = 1; round <= 2; round++)
        {
            backward(Cpu, grads.Select(g => g.Cpu).ToArray());
            backward(gpu, grads.Select(g => g.Gpu).ToArray());
            for (int i = 0; i < grads.Length; i++)
            {
                Assert.False(grads[i].Gpu.IsUnwritten, $"{name}: gradient {i} still unwritten after round {round}");
                AssertClose($"{name} gradient {i} ({(round == 1 ? "overwritten" : "accumulated")})", grads[i].Cpu, grads[i].Gpu, tolerance);
            }
        }
    }

    [Theory]
    [InlineData(1021, Activation.Relu6)]
    [InlineData(64, Activation.Relu)]
    public void ActivationBackward_AndAccumulate(int n, Activation activation)
    {
        var gpu = fixture.BackendOrSkip();
        var y = Random(gpu, [n], 1, -1, 7);
        var dy = Random(gpu, [n], 2);
        Twice(gpu, $"activation backward {activation} [{n}]", Exact, [[n]], (b, g) => b.ActivationBackward(activation, On(b, y), On(b, dy), g[0]));
        Twice(gpu, $"accumulate [{n}]", Exact, [[n]], (b, g) => b.Accumulate(On(b, dy), g[0]));
    }

    [Theory]
    [InlineData(PointwiseGemm.Tiled, 1, 0, 0)]
    [InlineData(PointwiseGemm.Tiled, 3, 3, 6)]
    [InlineData(PointwiseGemm.Cublas, 1, 0, 0)]
    [InlineData(PointwiseGemm.Cublas, 2, 2, 0)]
    public void PointwiseBackward(PointwiseGemm how, int groups, int inShuffle, int outShuffle)
    {
        var gpu = (CudaBackend)fixture.BackendOrSkip();
        var before = gpu.PointwiseGemm;
        gpu.PointwiseGemm = how;
        try
        {
            const int cin = 12, cout = 18;
            var spec = new PointwiseSpec(groups, inShuffle, outShuffle);
            var x = Random(gpu, [2, 3, 5, cin], 1);
            var w = Random(gpu, [cout, cin / groups], 2);
            var dy = Random(gpu, [2, 3, 5, cout], 3);
            Twice(gpu, $"pointwise backward ({how}) g{groups} in{inShuffle} out{outShuffle}", LongReduction, [x.Cpu.Shape, w.Cpu.Shape],
                (b, g) => b.PointwiseBackward(On(b, x), On(b, w), On(b, dy), g[0], g[1], spec));
            Twice(gpu, "channel shuffle backward", Exact, [[2, 3, 5, cin]], (b, g) => b.ChannelShuffleBackward(On(b, x), g[0], 3));
        }
        finally
        {
            gpu.PointwiseGemm = before;
        }
    }

    [Theory]
    [InlineData(1, 8)]
    [InlineData(2, 5)]
    public void DepthwiseBackward(int stride, int channels)
    {
        var gpu = fixture.BackendOrSkip();
        int ho = (7 - 1) / stride + 1, wo = (9 - 1) / stride + 1;
        var x = Random(gpu, [2, 7, 9, channels], 1);
        var w = Random(gpu, [channels, 3, 3], 2);
        var dy = Random(gpu, [2, ho, wo, channels], 3);
        Twice(gpu, $"depthwise backward s{stride} C{channels}", LongReduction, [x.Cpu.Shape, w.Cpu.Shape],
            (b, g) => b.DepthwiseBackward(On(b, x), On(b, w), On(b, dy), g[0], g[1], stride));
    }

    [Fact]
    public void Conv2dBackward()
    {
        var gpu = fixture.BackendOrSkip();
        var spec = new Conv2dSpec(3, 2, 1, 1);
        var x = Random(gpu, [2, 7, 7, 3], 1);
        var w = Random(gpu, [5, 3, 3, 3], 2);
        var dy = Random(gpu, [2, 4, 4, 5], 3);
        Twice(gpu, "conv2d backward", LongReduction, [x.Cpu.Shape, w.Cpu.Shape], (b, g) => b.Conv2dBackward(On(b, x), On(b, w), On(b, dy), g[0], g[1], spec));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void BatchNormBackward(bool training)
    {
        var gpu = fixture.BackendOrSkip();
        const int c = 7;
        Shape shape = [2, 3, 5, c];
        var spec = new BatchNormSpec(training, 0.1, 1e-5, Activation.Relu6);
        var x = Random(gpu, shape, 1, -1, 3);
        var gamma = Random(gpu, [c], 2, 0.5, 1.5);
        var beta = Random(gpu, [c], 3, -0.5, 0.5);
        var (runMean, runVar) = (Random(gpu, [c], 4, 0, 1), Random(gpu, [c], 5, 0.5, 2));
        var (y, mean, invStd) = (Poisoned(gpu, shape), Poisoned(gpu, [c]), Poisoned(gpu, [c]));
        foreach (var b in new[] { Cpu, gpu })
            b.BatchNormForward(On(b, x), On(b, gamma), On(b, beta), On(b, runMean), On(b, runVar), On(b, y), On(b, mean), On(b, invStd), spec);
        var dy = Random(gpu, shape, 6);
        Twice(gpu, $"batch_norm backward {(training ? "train" : "eval")}", LongReduction, [shape, [c], [c]],
            (b, g) => b.BatchNormBackward(On(b, x), On(b, gamma), On(b, beta), On(b, mean), On(b, invStd), On(b, dy), g[0], g[1], g[2], spec));
    }

    /// <summary>With no rows, the per-channel and weight gradients are empty sums: an unwritten one
    /// must still come out as zeros, not as whatever its memory held.</summary>
    [Fact]
    public void EmptyInputs_StillWriteTheirParameterGradients()
    {
        var gpu = fixture.BackendOrSkip();
        const int c = 5;
        var x = Random(gpu, [0, 3, 3, c], 1);
        var (gamma, beta) = (Random(gpu, [c], 2, 0.5, 1.5), Random(gpu, [c], 3));
        var (mean, invStd) = (Random(gpu, [c], 4), Random(gpu, [c], 5, 0.5, 2));
        var spec = new BatchNormSpec(false, 0.1, 1e-5, Activation.Relu6);
        Twice(gpu, "batch_norm backward, no rows", Exact, [[0, 3, 3, c], [c], [c]],
            (b, g) => b.BatchNormBackward(On(b, x), On(b, gamma), On(b, beta), On(b, mean), On(b, invStd), On(b, x), g[0], g[1], g[2], spec));
        var w = Random(gpu, [c, 3, 3], 6);
        Twice(gpu, "depthwise backward, no images", Exact, [[0, 3, 3, c], [c, 3, 3]],
            (b, g) => b.DepthwiseBackward(On(b, x), On(b, w), On(b, x), g[0], g[1], 1));
    }

    [Fact]
    public void PoolingBackward()
    {
        var gpu = fixture.BackendOrSkip();
        var x = Random(gpu, [2, 5, 7, 3], 1);
        var pooled = Random(gpu, [2, 3], 2);
        Twice(gpu, "global avg pool backward", Exact, [x.Cpu.Shape], (b, g) => b.GlobalAvgPoolBackward(On(b, pooled), g[0]));
        var spec = new PoolSpec(3, 2, 1);
        var dy = Random(gpu, [2, 3, 4, 3], 3);
        Twice(gpu, "max pool backward", Typical, [x.Cpu.Shape], (b, g) => b.MaxPoolBackward(On(b, x), On(b, dy), g[0], spec));
    }

    [Fact]
    public void LinearAndLossBackward()
    {
        var gpu = fixture.BackendOrSkip();
        var x = Random(gpu, [5, 7], 1);
        var w = Random(gpu, [3, 7], 2);
        var dy = Random(gpu, [5, 3], 3);
        Twice(gpu, "linear backward", Typical, [[5, 7], [3, 7], [3]], (b, g) => b.LinearBackward(On(b, x), On(b, w), On(b, dy), g[0], g[1], g[2]));

        var probabilities = Random(gpu, [5, 3], 4, 0, 1);
        var labelValues = new[] { 0, 2, 1, 1, 0 };
        var labels = (Tensor.FromArray(Cpu, labelValues, [5]), Tensor.FromArray(gpu, labelValues, [5]));
        var dloss = Random(gpu, Shape.Scalar, 5, 0.5, 1.5);
        Twice(gpu, "softmax cross-entropy backward", Typical, [[5, 3]],
            (b, g) => b.SoftmaxCrossEntropyBackward(On(b, probabilities), On(b, labels), On(b, dloss), g[0], 0.1));
    }
}
