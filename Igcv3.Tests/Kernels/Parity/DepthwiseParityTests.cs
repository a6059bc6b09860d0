using Igcv3.Engine;
using Xunit;
using static Igcv3.Tests.Kernels.Parity.Parity;

namespace Igcv3.Tests.Kernels.Parity;

/// <summary>depthwise.cu against the CPU reference: stride 1 and 2, H = W = 1, odd sizes (partial
/// 4-column strips), C % 4 ≠ 0 (scalar path) and C % 4 = 0 (float4 path). Forward and data gradient
/// sum 9 taps (Typical); the weight gradient sums over N·Ho·Wo pixels (LongReduction).</summary>
public abstract class DepthwiseParityTests(DeviceFixture fixture)
{
    [Collection(CudaCollection.Name), Trait("device", "gpu")]
    public sealed class OnGpu(CudaFixture fixture) : DepthwiseParityTests(fixture);

    [Collection(EmulatedCollection.Name), Trait("device", "emulated")]
    public sealed class OnEmulatedDevice(EmulatedFixture fixture) : DepthwiseParityTests(fixture);

    [Theory]
    [InlineData(1, 1, 1, 3, 1)]
    [InlineData(1, 1, 1, 5, 2)]
    [InlineData(2, 5, 5, 33, 1)]
    [InlineData(3, 5, 5, 100, 2)]
    [InlineData(2, 7, 6, 8, 2)]
    [InlineData(1, 9, 9, 64, 1)]
    [InlineData(4, 16, 16, 32, 2)]
    public void ForwardAndBackward(int n, int h, int w, int c, int stride)
    {
        var gpu = fixture.BackendOrSkip();
        int ho = (h - 1) / stride + 1, wo = (w - 1) / stride + 1;
        string name = $"depthwise [{n},{h},{w},{c}] /{stride}";
        var x = Random(gpu, [n, h, w, c], 1);
        var wt = Random(gpu, [c, 3, 3], 2);
        var y = Poisoned(gpu, [n, ho, wo, c]);
        Cpu.DepthwiseForward(x.Cpu, wt.Cpu, y.Cpu, stride);
        gpu.DepthwiseForward(x.Gpu, wt.Gpu, y.Gpu, stride);
        AssertClose(name + " y", y.Cpu, y.Gpu, Typical);

        var dy = Random(gpu, [n, ho, wo, c], 3);
        var dx = Prefilled(gpu, [n, h, w, c], 4);
        var dw = Prefilled(gpu, [c, 3, 3], 5);
        Cpu.DepthwiseBackward(x.Cpu, wt.Cpu, dy.Cpu, dx.Cpu, dw.Cpu, stride);
        gpu.DepthwiseBackward(x.Gpu, wt.Gpu, dy.Gpu, dx.Gpu, dw.Gpu, stride);
        AssertClose(name + " dx", dx.Cpu, dx.Gpu, Typical);
        AssertClose(name + " dw", dw.Cpu, dw.Gpu, LongReduction);
    }

    /// <summary>The forward that also accumulates y's batch statistics (for the training-mode batch
    /// norm after it) against the CPU's own pass with the batch norm's two-pass double code. C = 8, 32
    /// and 64 give the blocks 2, 8 and 16 channel lanes; 33 and 100 the scalar path; a view one
    /// float into its storage forces the scalar path where C % 4 = 0 (the kernel tests alignment).</summary>
    [Theory]
    [InlineData(1, 1, 3, 5, 2, false)]
    [InlineData(2, 5, 5, 33, 1, false)]
    [InlineData(3, 5, 5, 100, 2, false)]
    [InlineData(2, 7, 6, 8, 2, false)]
    [InlineData(1, 9, 9, 64, 1, false)]
    [InlineData(4, 16, 16, 32, 2, false)]
    [InlineData(2, 6, 6, 32, 1, true)]
    public void Forward_WithBatchStatistics(int n, int h, int w, int c, int stride, bool unaligned)
    {
        var gpu = fixture.BackendOrSkip();
        int ho = (h - 1) / stride + 1, wo = (w - 1) / stride + 1;
        string name = $"depthwise+statistics [{n},{h},{w},{c}] /{stride}{(unaligned ? " unaligned" : "")}";
        var x = Random(gpu, [n, h, w, c], 21, 0.5, 1.5); // positive: outputs far from zero mean
        var wt = Random(gpu, [c, 3, 3], 22, 0.0, 1.0);
        (Tensor Cpu, Tensor Gpu) y = unaligned
            ? (Tensor.Empty(Cpu, [n, ho, wo, c], DType.F32), Tensor.View(gpu.Allocate(DType.F32, n * ho * wo * c + 1), 1, [n, ho, wo, c]))
            : Poisoned(gpu, [n, ho, wo, c]);
        var runMean = Random(gpu, [c], 23);
        var runVar = Random(gpu, [c], 24, 0.5, 2);
        var cpuStats = new BatchStatistics(runMean.Cpu, runVar.Cpu, 0.1, 1e-5);
        var gpuStats = new BatchStatistics(runMean.Gpu, runVar.Gpu, 0.1, 1e-5);
        Cpu.DepthwiseForward(x.Cpu, wt.Cpu, y.Cpu, stride, cpuStats);
        gpu.DepthwiseForward(x.Gpu, wt.Gpu, y.Gpu, stride, gpuStats);
        AssertClose(name + " y", y.Cpu, y.Gpu, Typical);
        AssertBatchStatistics(name, cpuStats, gpuStats, runMean, runVar);
    }
}
