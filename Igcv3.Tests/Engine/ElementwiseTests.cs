using Igcv3.Engine;
using Igcv3.Tests.Support;
using Xunit;

namespace Igcv3.Tests.Engine;

public class ElementwiseTests
{
    [Theory]
    [InlineData(1, 1, 1, 3)]
    [InlineData(3, 5, 5, 7)]
    public void Add_GradientMatchesFiniteDifferences(int n, int h, int w, int c)
    {
        var a = Make.Random([n, h, w, c], 1);
        var b = Make.Random([n, h, w, c], 2);
        GradCheck.Check("add", () => Ops.Add(a, b), [a, b]);
    }

    [Fact]
    public void Add_UsingOneTensorTwice_AccumulatesBothGradients()
    {
        var a = Make.Random([2, 3], 1);
        GradCheck.Check("a + a", () => Ops.Add(a, a), [a]);
    }

    [Theory]
    [InlineData(Activation.Relu, new[] { 3, 5, 5, 3 })]
    [InlineData(Activation.Relu6, new[] { 3, 5, 5, 3 })]
    [InlineData(Activation.Relu, new[] { 1, 1, 1, 7 })]   // batch 1, H = W = 1, odd channels
    [InlineData(Activation.Relu6, new[] { 1, 1, 1, 7 })]
    [InlineData(Activation.Relu6, new[] { 2, 9 })]         // a classifier-shaped [N, C]
    public void Activation_GradientMatchesFiniteDifferences(Activation activation, int[] shape)
    {
        // Scale 8 puts values on both sides of 0 and of 6, so both kinks of ReLU6 are exercised.
        var x = Make.Random(new Shape(shape), 3, scale: 8);
        GradCheck.Check(activation.ToString(), () => Ops.Activate(x, activation), [x]);
    }

    [Theory]
    [InlineData(Activation.Relu, "relu")]
    [InlineData(Activation.Relu6, "relu6")]
    public void Activation_RejectsIntegerTensors_NamingTheOp(Activation activation, string op)
    {
        var labels = Tensor.FromArray(Make.Cpu, [1, 2, 3], new Shape(3));
        var e = Assert.Throws<ArgumentException>(() => Ops.Activate(labels, activation));
        Assert.StartsWith(op + ":", e.Message);
        Assert.Contains("x is I32; this op needs F32 or F64", e.Message);
    }

    [Fact]
    public void Relu6_ClampsToZeroAndSix()
    {
        var x = Tensor.FromArray(Make.Cpu, [-2.0, 0.5, 5.5, 9.0], new Shape(4));
        Assert.Equal([0.0, 0.5, 5.5, 6.0], Ops.Relu6(x).ToDoubleArray());
        Assert.Equal([0.0, 0.5, 5.5, 9.0], Ops.Relu(x).ToDoubleArray());
    }

    [Fact]
    public void Reshape_GradientFlowsThrough()
    {
        var x = Make.Random([2, 3, 4], 4);
        GradCheck.Check("reshape", () => Ops.Relu(Ops.Reshape(x, new Shape(6, 4))), [x]);
    }

    [Fact]
    public void Add_RejectsShapeMismatch_NamingOpAndShapes()
    {
        var a = Make.Random([2, 3], 1);
        var b = Make.Random([3, 2], 2);
        var e = Assert.Throws<ArgumentException>(() => Ops.Add(a, b));
        Assert.Contains("add", e.Message);
        Assert.Contains("[2, 3]", e.Message);
        Assert.Contains("[3, 2]", e.Message);
    }

    [Fact]
    public void Add_RejectsDTypeMismatch()
    {
        var a = Make.Random([2, 3], 1, DType.F64);
        var b = Make.Random([2, 3], 2, DType.F32);
        var e = Assert.Throws<ArgumentException>(() => Ops.Add(a, b));
        Assert.Contains("F32", e.Message);
    }

    [Fact]
    public void Add_RejectsDeviceMismatch_NamingBothDevices()
    {
        var other = new Igcv3.Engine.Cpu.CpuBackend(); // a second backend instance stands in for another device
        var a = Make.Random([2, 3], 1);
        var b = Tensor.RandomUniform(other, [2, 3], new Random(2), dtype: DType.F64);
        var e = Assert.Throws<ArgumentException>(() => Ops.Add(a, b));
        Assert.Contains("add", e.Message);
        Assert.Contains("b [2, 3] is on another cpu backend but a [2, 3] is on cpu", e.Message);
        Assert.Contains("one device", e.Message);
    }

    [Fact]
    public void Reshape_RejectsWrongCount()
    {
        var x = Make.Random([2, 3], 1);
        var e = Assert.Throws<ArgumentException>(() => Ops.Reshape(x, new Shape(4, 2)));
        Assert.Contains("reshape", e.Message);
    }

    [Fact]
    public void NoGrad_RecordsNothing()
    {
        var a = Make.Random([2, 2], 1);
        a.RequiresGrad = true;
        Tensor y;
        using (GradMode.NoGrad()) y = Ops.Relu(a);
        Assert.False(y.RequiresGrad);
        Assert.Null(y.Creator);
        Assert.Throws<InvalidOperationException>(() => y.Backward(Make.Random([2, 2], 2)));
    }

    [Fact]
    public void Backward_AccumulatesAcrossCalls()
    {
        var a = Make.Random([3], 1);
        a.RequiresGrad = true;
        var seed = Tensor.FromArray(Make.Cpu, [1.0, 1.0, 1.0], new Shape(3));
        Ops.Add(a, a).Backward(seed);
        Ops.Add(a, a).Backward(seed);
        Assert.Equal([4.0, 4.0, 4.0], a.Grad!.ToDoubleArray());
    }
}
