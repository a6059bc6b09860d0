using Igcv3.Engine;
using Igcv3.Engine.Cpu;
using Igcv3.Tests.Support;
using Xunit;

namespace Igcv3.Tests.Engine;

public class LinearTests
{
    [Theory]
    [InlineData(1, 5, 7, true)]
    [InlineData(3, 5, 7, true)]
    [InlineData(3, 5, 7, false)]
    [InlineData(1, 1, 1, false)]
    [InlineData(4, 9, 3, true)]
    public void GradientMatchesFiniteDifferences(int n, int inputs, int outputs, bool bias)
    {
        var x = Make.Random([n, inputs], 1);
        var w = Make.Random([outputs, inputs], 2);
        var b = bias ? Make.Random([outputs], 3) : null;
        GradCheck.Check($"linear {n}x{inputs}->{outputs}", () => Ops.Linear(x, w, b), b is null ? [x, w] : [x, w, b]);
    }

    [Fact]
    public void GradientToWeightOnly_LeavesInputWithoutGradient()
    {
        var x = Make.Random([3, 5], 1);
        var w = Make.Random([7, 5], 2);
        var b = Make.Random([7], 3);
        GradCheck.Check("linear dw", () => Ops.Linear(x, w, b), [w]);
        Assert.Null(x.Grad);
        Assert.Null(b.Grad);
    }

    [Fact]
    public void BackwardAccumulates()
    {
        var x = Make.Random([3, 5], 1);
        var w = Make.Random([7, 5], 2);
        var b = Make.Random([7], 3);
        AccumulationCheck.AssertAccumulates("linear", () => Ops.Linear(x, w, b), [x, w, b]);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void EqualsNaiveFormula(bool bias)
    {
        const int n = 3, inputs = 5, outputs = 7;
        var x = Make.Random([n, inputs], 4);
        var w = Make.Random([outputs, inputs], 5);
        var b = bias ? Make.Random([outputs], 6) : null;
        var y = Ops.Linear(x, w, b);
        Assert.Equal(new Shape(n, outputs), y.Shape);
        double[] xs = x.ToDoubleArray(), ws = w.ToDoubleArray(), ys = y.ToDoubleArray();
        double[] bs = b?.ToDoubleArray() ?? new double[outputs];
        for (int r = 0; r < n; r++)
        {
            for (int o = 0; o < outputs; o++)
            {
                double sum = bs[o];
                for (int i = 0; i < inputs; i++) sum += xs[r * inputs + i] * ws[o * inputs + i];
                Assert.Equal(sum, ys[r * outputs + o], 1e-14);
            }
        }
    }

    private static void AssertRejects(Func<Tensor> call, params string[] fragments)
    {
        var e = Assert.Throws<ArgumentException>(() => call());
        Assert.StartsWith("linear:", e.Message);
        foreach (var fragment in fragments) Assert.Contains(fragment, e.Message);
    }

    [Fact]
    public void Rejects_XNotRank2() =>
        AssertRejects(() => Ops.Linear(Make.Random([2, 1, 1, 5], 1), Make.Random([7, 5], 2), null), "[N, In]", "[2, 1, 1, 5]");

    [Fact]
    public void Rejects_WNotRank2() =>
        AssertRejects(() => Ops.Linear(Make.Random([2, 5], 1), Make.Random([7, 5, 1], 2), null), "[Out, In]", "[7, 5, 1]");

    [Fact]
    public void Rejects_InputFeatureMismatch() =>
        AssertRejects(() => Ops.Linear(Make.Random([2, 5], 1), Make.Random([7, 4], 2), null), "[7, 4]", "[2, 5]");

    [Fact]
    public void Rejects_BiasNotShapedPerOutput() =>
        AssertRejects(() => Ops.Linear(Make.Random([2, 5], 1), Make.Random([7, 5], 2), Make.Random([5], 3)), "b", "[7]", "[5]");

    [Fact]
    public void Rejects_DTypeMismatch() =>
        AssertRejects(() => Ops.Linear(Make.Random([2, 5], 1), Make.Random([7, 5], 2), Make.Random([7], 3, DType.F32)), "F32", "F64");

    [Fact]
    public void Rejects_DeviceMismatch() =>
        AssertRejects(() => Ops.Linear(Make.Random([2, 5], 1), Tensor.Zeros(new CpuBackend(), [7, 5], DType.F64), null), "w", "device");
}
