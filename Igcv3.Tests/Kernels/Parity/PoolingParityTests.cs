using Igcv3.Engine;
using Xunit;
using static Igcv3.Tests.Kernels.Parity.Parity;

namespace Igcv3.Tests.Kernels.Parity;

/// <summary>pooling.cu against the CPU reference. Global average pooling sums H·W ≤ 64 terms
/// (Typical); max pooling selects values and adds at most K² gradients per element, in the same
/// window order as the CPU, so it must be exact.</summary>
public abstract class PoolingParityTests(DeviceFixture fixture)
{
    [Collection(CudaCollection.Name), Trait("device", "gpu")]
    public sealed class OnGpu(CudaFixture fixture) : PoolingParityTests(fixture);

    [Collection(EmulatedCollection.Name), Trait("device", "emulated")]
    public sealed class OnEmulatedDevice(EmulatedFixture fixture) : PoolingParityTests(fixture);

    [Theory]
    [InlineData(1, 1, 1, 3)]
    [InlineData(3, 5, 5, 33)]
    [InlineData(2, 8, 8, 100)]
    public void GlobalAvgPool_ForwardAndBackward(int n, int h, int w, int c)
    {
        var gpu = fixture.BackendOrSkip();
        var x = Random(gpu, [n, h, w, c], 1);
        var y = Poisoned(gpu, [n, c]);
        Cpu.GlobalAvgPoolForward(x.Cpu, y.Cpu);
        gpu.GlobalAvgPoolForward(x.Gpu, y.Gpu);
        AssertClose("avgpool y", y.Cpu, y.Gpu, Typical);

        var dy = Random(gpu, [n, c], 2);
        var dx = Prefilled(gpu, [n, h, w, c], 3);
        Cpu.GlobalAvgPoolBackward(dy.Cpu, dx.Cpu);
        gpu.GlobalAvgPoolBackward(dy.Gpu, dx.Gpu);
        AssertClose("avgpool dx", dx.Cpu, dx.Gpu, Typical);
    }

    [Theory]
    [InlineData(2, 7, 7, 5, 3, 2, 1)]
    [InlineData(1, 4, 4, 3, 2, 2, 0)]
    [InlineData(1, 1, 1, 3, 3, 1, 1)]
    [InlineData(3, 9, 8, 33, 3, 1, 1)]
    public void MaxPool_ForwardAndBackward(int n, int h, int w, int c, int k, int s, int p)
    {
        var gpu = fixture.BackendOrSkip();
        var spec = new PoolSpec(k, s, p);
        Shape outShape = [n, spec.OutputSize(h), spec.OutputSize(w), c];
        var x = Random(gpu, [n, h, w, c], 4);
        var y = Poisoned(gpu, outShape);
        Cpu.MaxPoolForward(x.Cpu, y.Cpu, spec);
        gpu.MaxPoolForward(x.Gpu, y.Gpu, spec);
        AssertClose($"maxpool {spec} y", y.Cpu, y.Gpu, Exact);

        var dy = Random(gpu, outShape, 5);
        var dx = Prefilled(gpu, [n, h, w, c], 6);
        Cpu.MaxPoolBackward(x.Cpu, dy.Cpu, dx.Cpu, spec);
        gpu.MaxPoolBackward(x.Gpu, dy.Gpu, dx.Gpu, spec);
        // Overlapping windows add up to K² values per element, possibly in another order: Typical.
        AssertClose($"maxpool {spec} dx", dx.Cpu, dx.Gpu, Typical);
    }
}
