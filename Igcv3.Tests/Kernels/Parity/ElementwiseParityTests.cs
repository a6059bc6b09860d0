using Igcv3.Engine;
using Xunit;
using static Igcv3.Tests.Kernels.Parity.Parity;

namespace Igcv3.Tests.Kernels.Parity;

/// <summary>elementwise.cu against the CPU reference: lengths with and without a float4 tail, and
/// views at an odd offset (not 16-byte aligned), which must take the scalar path. Single-rounding
/// operations, so the results must be exact.</summary>
public abstract class ElementwiseParityTests(DeviceFixture fixture)
{
    [Collection(CudaCollection.Name), Trait("device", "gpu")]
    public sealed class OnGpu(CudaFixture fixture) : ElementwiseParityTests(fixture);

    [Collection(EmulatedCollection.Name), Trait("device", "emulated")]
    public sealed class OnEmulatedDevice(EmulatedFixture fixture) : ElementwiseParityTests(fixture);

    public static TheoryData<int, int> Sizes() => new() { { 1, 0 }, { 3, 0 }, { 1003, 0 }, { 1003, 1 }, { 4096, 3 } };

    /// <summary>A view of <paramref name="count"/> elements at <paramref name="offset"/> into a larger storage on each side.</summary>
    private static (Tensor Cpu, Tensor Gpu) View(IBackend gpu, int count, int offset, int seed, double low = -2, double high = 8)
    {
        var (c, g) = Random(gpu, [count + offset], seed, low, high);
        return (Tensor.View(c.Storage, offset, [count]), Tensor.View(g.Storage, offset, [count]));
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Add_And_Accumulate(int count, int offset)
    {
        var gpu = fixture.BackendOrSkip();
        var a = View(gpu, count, offset, 1);
        var b = View(gpu, count, offset, 2);
        var y = Poisoned(gpu, [count]);
        Cpu.Add(a.Cpu, b.Cpu, y.Cpu);
        gpu.Add(a.Gpu, b.Gpu, y.Gpu);
        AssertClose("add", y.Cpu, y.Gpu, Exact);

        var dst = View(gpu, count, offset, 3);
        Cpu.Accumulate(a.Cpu, dst.Cpu);
        gpu.Accumulate(a.Gpu, dst.Gpu);
        AssertClose("accumulate", dst.Cpu, dst.Gpu, Exact);
    }

    [Theory]
    [InlineData(Activation.None, 1003, 0)]
    [InlineData(Activation.Relu, 1003, 1)]
    [InlineData(Activation.Relu6, 1003, 0)]
    [InlineData(Activation.Relu6, 5, 2)]
    public void Activation_ForwardAndBackward(Activation activation, int count, int offset)
    {
        var gpu = fixture.BackendOrSkip();
        var x = View(gpu, count, offset, 4); // [-2, 8): both sides of 0 and of 6
        var y = Poisoned(gpu, [count]);
        Cpu.ActivationForward(activation, x.Cpu, y.Cpu);
        gpu.ActivationForward(activation, x.Gpu, y.Gpu);
        AssertClose($"{activation} forward", y.Cpu, y.Gpu, Exact);

        var dy = View(gpu, count, offset, 5, -1, 1);
        var dx = Prefilled(gpu, [count], 6);
        Cpu.ActivationBackward(activation, y.Cpu, dy.Cpu, dx.Cpu);
        gpu.ActivationBackward(activation, y.Gpu, dy.Gpu, dx.Gpu);
        AssertClose($"{activation} backward", dx.Cpu, dx.Gpu, Exact);
    }

    [Fact]
    public void Fill_F32AndI32_AndCopy()
    {
        var gpu = fixture.BackendOrSkip();
        var f = Tensor.Zeros(gpu, [7]);
        gpu.Fill(f, -2.5);
        Assert.All(f.ToFloatArray(), v => Assert.Equal(-2.5f, v));
        var i = Tensor.Zeros(gpu, [5], DType.I32);
        gpu.Fill(i, 7);
        Assert.All(i.ToIntArray(), v => Assert.Equal(7, v));
        var copy = Tensor.Zeros(gpu, [7]);
        gpu.Copy(f, copy);
        Assert.Equal(f.ToFloatArray(), copy.ToFloatArray());
        Assert.All(Tensor.Zeros(gpu, [9]).ToFloatArray(), v => Assert.Equal(0f, v)); // Allocate zeroes
    }
}
