using Igcv3.Engine;
using Xunit;
using static Igcv3.Tests.Kernels.Parity.Parity;

namespace Igcv3.Tests.Kernels.Parity;

/// <summary>conv2d.cu against the CPU reference: the 3-channel stride-2 stem, groups 2 and 3, 1x1,
/// H = W = 1, no padding, and channel counts that are multiples of 4 (float4 paths). Forward and
/// data gradient reduce over R = K·K·Cig ≤ 288 terms (Typical); the weight gradient over N·Ho·Wo
/// pixels (LongReduction).</summary>
public abstract class Conv2dParityTests(DeviceFixture fixture)
{
    [Collection(CudaCollection.Name), Trait("device", "gpu")]
    public sealed class OnGpu(CudaFixture fixture) : Conv2dParityTests(fixture);

    [Collection(EmulatedCollection.Name), Trait("device", "emulated")]
    public sealed class OnEmulatedDevice(EmulatedFixture fixture) : Conv2dParityTests(fixture);

    [Theory]
    [InlineData(2, 9, 9, 3, 16, 3, 2, 1, 1)]
    [InlineData(1, 5, 5, 6, 9, 3, 1, 1, 3)]
    [InlineData(3, 5, 5, 8, 12, 3, 2, 1, 2)]
    [InlineData(1, 1, 1, 5, 7, 1, 1, 0, 1)]
    [InlineData(2, 6, 6, 4, 33, 3, 1, 0, 1)]
    [InlineData(1, 4, 4, 32, 64, 3, 1, 1, 1)]
    [InlineData(2, 8, 8, 16, 100, 1, 2, 0, 2)]
    public void ForwardAndBackward(int n, int h, int w, int cin, int cout, int k, int s, int p, int groups)
    {
        var gpu = fixture.BackendOrSkip();
        var spec = new Conv2dSpec(k, s, p, groups);
        int ho = spec.OutputSize(h), wo = spec.OutputSize(w);
        string name = $"conv2d [{n},{h},{w},{cin}]→{cout} k{k} s{s} p{p} g{groups}";
        var x = Random(gpu, [n, h, w, cin], 1);
        var wt = Random(gpu, [cout, k, k, cin / groups], 2);
        var y = Poisoned(gpu, [n, ho, wo, cout]);
        Cpu.Conv2dForward(x.Cpu, wt.Cpu, y.Cpu, spec);
        gpu.Conv2dForward(x.Gpu, wt.Gpu, y.Gpu, spec);
        AssertClose(name + " y", y.Cpu, y.Gpu, Typical);

        var dy = Random(gpu, [n, ho, wo, cout], 3);
        var dx = Prefilled(gpu, [n, h, w, cin], 4);
        var dw = Prefilled(gpu, [cout, k, k, cin / groups], 5);
        Cpu.Conv2dBackward(x.Cpu, wt.Cpu, dy.Cpu, dx.Cpu, dw.Cpu, spec);
        gpu.Conv2dBackward(x.Gpu, wt.Gpu, dy.Gpu, dx.Gpu, dw.Gpu, spec);
        AssertClose(name + " dx", dx.Cpu, dx.Gpu, Typical);
        AssertClose(name + " dw", dw.Cpu, dw.Gpu, LongReduction);
    }
}
