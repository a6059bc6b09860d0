using Igcv3.Engine;
using Igcv3.Engine.Cpu;
using Igcv3.Tests.Support;
using Xunit;

namespace Igcv3.Tests.Engine;

public class LossTests
{
    [Theory]
    [InlineData(1, 5, 0.0)]
    [InlineData(3, 5, 0.0)]
    [InlineData(3, 5, 0.1)]
    [InlineData(4, 10, 0.1)]
    [InlineData(2, 2, 0.5)]
    public void GradientMatchesFiniteDifferences(int n, int classes, double smoothing)
    {
        // GradCheck seeds backward with a random scalar, so dloss ≠ 1 is exercised too.
        var logits = Make.Random([n, classes], 1, scale: 3);
        var labels = Make.Labels(n, classes, 2);
        GradCheck.Check($"softmax_cross_entropy ε={smoothing}", () => Ops.SoftmaxCrossEntropy(logits, labels, smoothing), [logits]);
    }

    [Fact]
    public void BackwardAccumulates()
    {
        var logits = Make.Random([3, 5], 1, scale: 3);
        var labels = Make.Labels(3, 5, 2);
        AccumulationCheck.AssertAccumulates("softmax_cross_entropy", () => Ops.SoftmaxCrossEntropy(logits, labels, 0.1), [logits]);
    }

    /// <summary>−(1/N)·Σ_n Σ_k t[n, k]·log softmax(z[n])[k], written directly: exp without the max
    /// shift (the logits are small), log of the normalised probability.</summary>
    private static double NaiveLoss(double[] z, int[] labels, int classes, double smoothing)
    {
        int n = labels.Length;
        double total = 0;
        for (int r = 0; r < n; r++)
        {
            double denominator = 0;
            for (int k = 0; k < classes; k++) denominator += Math.Exp(z[r * classes + k]);
            for (int k = 0; k < classes; k++)
            {
                double target = (k == labels[r] ? 1 - smoothing : 0) + smoothing / classes;
                total -= target * Math.Log(Math.Exp(z[r * classes + k]) / denominator);
            }
        }
        return total / n;
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.1)]
    [InlineData(0.3)]
    public void EqualsNaiveSmoothedCrossEntropy(double smoothing)
    {
        const int n = 3, classes = 7;
        var logits = Make.Random([n, classes], 3, scale: 4);
        var labels = Make.Labels(n, classes, 4);
        var loss = Ops.SoftmaxCrossEntropy(logits, labels, smoothing);
        Assert.Equal(Shape.Scalar, loss.Shape);
        Assert.Equal(NaiveLoss(logits.ToDoubleArray(), labels.ToIntArray(), classes, smoothing), loss.Item(), 1e-13);
    }

    [Fact]
    public void ZeroSmoothing_IsPlainCrossEntropy()
    {
        const int n = 4, classes = 5;
        var logits = Make.Random([n, classes], 5, scale: 4);
        var labels = Make.Labels(n, classes, 6);
        double[] z = logits.ToDoubleArray();
        int[] y = labels.ToIntArray();
        double expected = 0;
        for (int r = 0; r < n; r++)
        {
            double denominator = 0;
            for (int k = 0; k < classes; k++) denominator += Math.Exp(z[r * classes + k]);
            expected -= Math.Log(Math.Exp(z[r * classes + y[r]]) / denominator);
        }
        Assert.Equal(expected / n, Ops.SoftmaxCrossEntropy(logits, labels).Item(), 1e-13);
    }

    [Fact]
    public void LargeLogits_StayFinite_AndShiftingARowChangesNothing()
    {
        // exp(1000) overflows even in double; subtracting the row max first is what keeps the
        // loss finite. Softmax is invariant to adding a constant to a row, so the loss must equal
        // that of the unshifted logits.
        const int n = 3, classes = 5;
        var logits = Make.Random([n, classes], 7, scale: 4);
        var labels = Make.Labels(n, classes, 8);
        var shifted = Tensor.FromArray(Make.Cpu, logits.ToDoubleArray().Select((v, i) => v + 1000.0 * (i / classes + 1)).ToArray(), logits.Shape);
        double reference = Ops.SoftmaxCrossEntropy(logits, labels, 0.1).Item();
        double loss = Ops.SoftmaxCrossEntropy(shifted, labels, 0.1).Item();
        Assert.True(double.IsFinite(loss));
        Assert.Equal(reference, loss, 1e-9);

        var shifted32 = Tensor.FromArray(Make.Cpu, shifted.ToFloatArray(), shifted.Shape);
        Assert.True(float.IsFinite((float)Ops.SoftmaxCrossEntropy(shifted32, labels, 0.1).Item()));
    }

    [Fact]
    public void Backward_FromLossAlone_SeedsOne_AndEachRowGradientSumsToZero()
    {
        // With seed 1, dlogits = (p − t)/N; each row of p and of t sums to 1.
        var logits = Make.Random([3, 5], 9, scale: 3);
        logits.RequiresGrad = true;
        Ops.SoftmaxCrossEntropy(logits, Make.Labels(3, 5, 10), 0.1).Backward();
        var grad = logits.Grad!.ToDoubleArray();
        for (int r = 0; r < 3; r++) Assert.Equal(0.0, grad.Skip(r * 5).Take(5).Sum(), 1e-15);
    }

    // ---- validation ---------------------------------------------------------------------

    private static void AssertRejects(Func<Tensor> call, params string[] fragments)
    {
        var e = Assert.Throws<ArgumentException>(() => call());
        Assert.StartsWith("softmax_cross_entropy", e.Message);
        foreach (var fragment in fragments) Assert.Contains(fragment, e.Message);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(5)]
    [InlineData(int.MaxValue)]
    public void Rejects_LabelOutsideClassRange(int bad)
    {
        var labels = Tensor.FromArray(Make.Cpu, new[] { 0, bad, 4 }, [3]);
        AssertRejects(() => Ops.SoftmaxCrossEntropy(Make.Random([3, 5], 1), labels), $"label {bad}", "row 1", "[0, 5)");
    }

    [Fact]
    public void Rejects_FloatingLabels() =>
        AssertRejects(() => Ops.SoftmaxCrossEntropy(Make.Random([3, 5], 1), Make.Random([3], 2)), "labels", "I32", "F64");

    [Fact]
    public void Rejects_LabelsOnAnotherDevice()
    {
        var labels = Tensor.Zeros(new CpuBackend(), [3], DType.I32);
        AssertRejects(() => Ops.SoftmaxCrossEntropy(Make.Random([3, 5], 1), labels), "labels", "device");
    }

    [Fact]
    public void Rejects_LabelCountNotBatch() =>
        AssertRejects(() => Ops.SoftmaxCrossEntropy(Make.Random([3, 5], 1), Make.Labels(4, 5, 2)), "labels", "[3]", "[4]");

    [Fact]
    public void Rejects_LogitsNotRank2() =>
        AssertRejects(() => Ops.SoftmaxCrossEntropy(Make.Random([3, 1, 1, 5], 1), Make.Labels(3, 5, 2)), "[N, K]", "[3, 1, 1, 5]");

    [Fact]
    public void Rejects_EmptyBatch() =>
        AssertRejects(() => Ops.SoftmaxCrossEntropy(Tensor.Zeros(Make.Cpu, [0, 5], DType.F64), Tensor.Zeros(Make.Cpu, [0], DType.I32)), "[0, 5]");

    [Fact]
    public void Rejects_IntegerLogits() =>
        AssertRejects(() => Ops.SoftmaxCrossEntropy(Make.Labels(15, 5, 1), Make.Labels(3, 5, 2)), "logits", "I32");

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void Rejects_SmoothingOutsideUnitInterval(double smoothing) =>
        AssertRejects(() => Ops.SoftmaxCrossEntropy(Make.Random([3, 5], 1), Make.Labels(3, 5, 2), smoothing), "smoothing");
}
