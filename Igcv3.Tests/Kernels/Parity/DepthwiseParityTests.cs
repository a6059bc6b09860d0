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
}
