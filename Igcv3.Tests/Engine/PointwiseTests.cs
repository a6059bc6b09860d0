using Igcv3.Engine;
using Igcv3.Engine.Cpu;
using Igcv3.Tests.Support;
using Xunit;

namespace Igcv3.Tests.Engine;

/// <summary>The grouped 1x1 convolution with fused permutations, y = P(Gout)·conv_groups(P(Gin)·x),
/// checked three independent ways: against plain double loops written from the definition,
/// bit-exactly against the explicit composition of ChannelShuffle and an unshuffled Pointwise
/// (forward and both gradients, on small integers where every sum is exact), and by finite
/// differences.</summary>
public class PointwiseTests
{
    /// <summary>Every (groups, Gin, Gout) with groups in {1, 2, 3} and shuffles in {0, 2, 3}, with
    /// channel counts picked so that everything divides, odd wherever the divisors allow, and
    /// large enough that each permutation moves channels. Alternating batch 1 / 3 and H = W 1 / 5.</summary>
    public static TheoryData<int, int, int, int, int, int, int> Combinations()
    {
        var data = new TheoryData<int, int, int, int, int, int, int>();
        int[] inputCandidates = [5, 7, 9, 15, 6, 12, 18, 30];
        int[] outputCandidates = [7, 5, 15, 9, 12, 6, 18, 30];
        int index = 0;
        foreach (int groups in new[] { 1, 2, 3 })
        {
            foreach (int gin in new[] { 0, 2, 3 })
            {
                foreach (int gout in new[] { 0, 2, 3 })
                {
                    int cin = FirstFitting(inputCandidates, groups, gin);
                    int cout = FirstFitting(outputCandidates, groups, gout);
                    int n = index % 2 == 0 ? 1 : 3;
                    int hw = index / 2 % 2 == 0 ? 5 : 1;
                    data.Add(n, hw, cin, cout, groups, gin, gout);
                    index++;
                }
            }
        }
        return data;
    }

    private static int FirstFitting(int[] candidates, int groups, int shuffle)
    {
        int s = Math.Max(shuffle, 1);
        // c > s keeps P(s) from being the identity (it is for s = C).
        return candidates.First(c => c % groups == 0 && c % s == 0 && c > s);
    }

    /// <summary>The definition in plain double loops: u = P(Gin)·x, v = grouped conv of u,
    /// y = P(Gout)·v, with P taken from the reshape-transpose definition in the shuffle tests.</summary>
    private static double[] NaiveForward(double[] x, double[] w, int rows, int cin, int cout, PointwiseSpec spec)
    {
        int cinG = cin / spec.Groups, coutG = cout / spec.Groups;
        var u = ChannelShuffleTests.NaiveShuffle(x, cin, spec.InputShuffle);
        var v = new double[rows * cout];
        for (int m = 0; m < rows; m++)
        {
            for (int o = 0; o < cout; o++)
            {
                int group = o / coutG;
                double sum = 0;
                for (int k = 0; k < cinG; k++) sum += w[o * cinG + k] * u[m * cin + group * cinG + k];
                v[m * cout + o] = sum;
            }
        }
        return ChannelShuffleTests.NaiveShuffle(v, cout, spec.OutputShuffle);
    }

    /// <summary>The unfused reference: explicit permutation ops around an unshuffled conv.</summary>
    private static Tensor Composed(Tensor x, Tensor w, PointwiseSpec spec) =>
        Ops.ChannelShuffle(Ops.Pointwise(Ops.ChannelShuffle(x, spec.InputShuffle), w, new PointwiseSpec(spec.Groups)), spec.OutputShuffle);

    [Theory]
    [MemberData(nameof(Combinations))]
    public void Forward_MatchesNaiveDoubleLoops(int n, int hw, int cin, int cout, int groups, int gin, int gout)
    {
        var spec = new PointwiseSpec(groups, gin, gout);
        var x = Make.Random([n, hw, hw, cin], 1);
        var w = Make.Random([cout, cin / groups], 2);
        var expected = NaiveForward(x.ToDoubleArray(), w.ToDoubleArray(), n * hw * hw, cin, cout, spec);
        var y = Ops.Pointwise(x, w, spec);
        Assert.Equal(new Shape(n, hw, hw, cout), y.Shape);
        var actual = y.ToDoubleArray();
        // Only the order of the additions may differ (vectorised dot products): ~1e-16 relative.
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-12, $"y[{i}]: expected {expected[i]}, got {actual[i]}");
    }

    [Theory]
    [MemberData(nameof(Combinations))]
    public void Fused_EqualsExplicitComposition_BitExact(int n, int hw, int cin, int cout, int groups, int gin, int gout)
    {
        var spec = new PointwiseSpec(groups, gin, gout);
        var x = Make.SmallIntegers([n, hw, hw, cin], 3);
        var w = Make.SmallIntegers([cout, cin / groups], 4);
        Assert.Equal(Composed(x, w, spec).ToFloatArray(), Ops.Pointwise(x, w, spec).ToFloatArray());
    }

    [Theory]
    [MemberData(nameof(Combinations))]
    public void FusedGradients_EqualExplicitComposition_BitExact(int n, int hw, int cin, int cout, int groups, int gin, int gout)
    {
        var spec = new PointwiseSpec(groups, gin, gout);
        var seed = Make.SmallIntegers([n, hw, hw, cout], 7);

        var (xFused, wFused) = Leaves(n, hw, cin, cout, groups);
        Ops.Pointwise(xFused, wFused, spec).Backward(seed);

        var (xComposed, wComposed) = Leaves(n, hw, cin, cout, groups);
        Composed(xComposed, wComposed, spec).Backward(seed);

        Assert.Equal(xComposed.Grad!.ToFloatArray(), xFused.Grad!.ToFloatArray());
        Assert.Equal(wComposed.Grad!.ToFloatArray(), wFused.Grad!.ToFloatArray());
    }

    private static (Tensor X, Tensor W) Leaves(int n, int hw, int cin, int cout, int groups)
    {
        var x = Make.SmallIntegers([n, hw, hw, cin], 5);
        var w = Make.SmallIntegers([cout, cin / groups], 6);
        x.RequiresGrad = true;
        w.RequiresGrad = true;
        return (x, w);
    }

    [Theory]
    [InlineData(1, 1, 6, 6, 1, 0, 0)]
    [InlineData(3, 5, 5, 7, 1, 0, 0)]
    [InlineData(3, 5, 6, 9, 3, 0, 0)]
    [InlineData(1, 5, 6, 4, 2, 2, 0)]
    [InlineData(3, 1, 9, 6, 3, 0, 2)]
    [InlineData(3, 5, 12, 6, 2, 3, 2)]
    [InlineData(1, 1, 15, 9, 3, 5, 3)]
    public void Gradients_MatchFiniteDifferences(int n, int hw, int cin, int cout, int groups, int gin, int gout)
    {
        var spec = new PointwiseSpec(groups, gin, gout);
        var x = Make.Random([n, hw, hw, cin], 8);
        var w = Make.Random([cout, cin / groups], 9);
        GradCheck.Check($"pointwise {spec}", () => Ops.Pointwise(x, w, spec), [x, w]);
    }

    [Fact]
    public void Gradient_OfWeightAlone_WhenInputNeedsNone()
    {
        // x does not require a gradient: the backward must skip dx (null) and still produce dw.
        var spec = new PointwiseSpec(3, 2, 3);
        var x = Make.Random([3, 5, 5, 12], 10);
        var w = Make.Random([9, 4], 11);
        GradCheck.Check("pointwise dw only", () => Ops.Pointwise(x, w, spec), [w]);
        Assert.Null(x.Grad);
    }

    [Fact]
    public void Gradient_OfInputAlone_WhenWeightNeedsNone()
    {
        var spec = new PointwiseSpec(2, 3, 2);
        var x = Make.Random([3, 5, 5, 6], 12);
        var w = Make.Random([8, 3], 13);
        GradCheck.Check("pointwise dx only", () => Ops.Relu(Ops.Pointwise(x, w, spec)), [x]);
        Assert.Null(w.Grad);
    }

    [Fact]
    public void Backward_AccumulatesIntoExistingGradients()
    {
        var spec = new PointwiseSpec(3, 3, 2);
        var x = Make.SmallIntegers([3, 5, 5, 9], 14);
        var w = Make.SmallIntegers([6, 3], 15);
        var dy = Make.SmallIntegers([3, 5, 5, 6], 16);

        var dxFresh = Tensor.Zeros(Make.Cpu, x.Shape);
        var dwFresh = Tensor.Zeros(Make.Cpu, w.Shape);
        CpuBackend.Instance.PointwiseBackward(x, w, dy, dxFresh, dwFresh, spec);

        var dx = Make.SmallIntegers(x.Shape, 17);
        var dw = Make.SmallIntegers(w.Shape, 18);
        var dxBefore = dx.ToFloatArray();
        var dwBefore = dw.ToFloatArray();
        CpuBackend.Instance.PointwiseBackward(x, w, dy, dx, dw, spec);

        Assert.Equal(dxBefore.Zip(dxFresh.ToFloatArray(), (a, b) => a + b), dx.ToFloatArray());
        Assert.Equal(dwBefore.Zip(dwFresh.ToFloatArray(), (a, b) => a + b), dw.ToFloatArray());
    }

    [Theory]
    [InlineData(1, 0, 0)]
    [InlineData(2, 2, 3)]
    [InlineData(3, 4, 2)]
    public void LargeTensor_ParallelPaths_EqualReferenceAndComposition(int groups, int gin, int gout)
    {
        // 2·16·16 = 512 rows of 24 → 36 channels: enough work that every kernel (forward rows, dx
        // rows, dw output-channel blocks) splits across threads.
        var spec = new PointwiseSpec(groups, gin, gout);
        var x = Make.SmallIntegers([2, 16, 16, 24], 19);
        var w = Make.SmallIntegers([36, 24 / groups], 20);
        var seed = Make.SmallIntegers([2, 16, 16, 36], 21);
        x.RequiresGrad = true;
        w.RequiresGrad = true;
        var y = Ops.Pointwise(x, w, spec);
        var expected = NaiveForward(x.ToDoubleArray(), w.ToDoubleArray(), 512, 24, 36, spec);
        Assert.Equal(Array.ConvertAll(expected, v => (float)v), y.ToFloatArray());
        y.Backward(seed);
        var dxFused = x.Grad!.ToFloatArray();
        var dwFused = w.Grad!.ToFloatArray();

        x.Grad = null;
        w.Grad = null;
        Composed(x, w, spec).Backward(seed);
        Assert.Equal(x.Grad!.ToFloatArray(), dxFused);
        Assert.Equal(w.Grad!.ToFloatArray(), dwFused);
    }

    /// <summary>The gradients by the definition in plain double loops: with u[c] = x[q(c)] and
    /// y[d] = v[p(d)] (q, p read off the naive shuffle applied to 0, 1, 2, ...), dv[p(d)] = dy[d],
    /// du[g·Cin/G + k] = Σ_o w[o, k]·dv[o], dx[q(c)] = du[c], dw[o, k] = Σ_m dv[m, o]·u[m, g·Cin/G + k].</summary>
    private static (double[] Dx, double[] Dw) NaiveBackward(double[] x, double[] w, double[] dy, int rows, int cin, int cout, PointwiseSpec spec)
    {
        int cinG = cin / spec.Groups, coutG = cout / spec.Groups;
        double[] q = ChannelShuffleTests.NaiveShuffle(Enumerable.Range(0, cin).Select(i => (double)i).ToArray(), cin, spec.InputShuffle);
        double[] p = ChannelShuffleTests.NaiveShuffle(Enumerable.Range(0, cout).Select(i => (double)i).ToArray(), cout, spec.OutputShuffle);
        var dx = new double[rows * cin];
        var dw = new double[cout * cinG];
        for (int m = 0; m < rows; m++)
        {
            var dv = new double[cout];
            for (int d = 0; d < cout; d++) dv[(int)p[d]] = dy[m * cout + d];
            for (int o = 0; o < cout; o++)
            {
                int c0 = o / coutG * cinG;
                for (int k = 0; k < cinG; k++)
                {
                    int xc = (int)q[c0 + k];
                    dx[m * cin + xc] += w[o * cinG + k] * dv[o];
                    dw[o * cinG + k] += dv[o] * x[m * cin + xc];
                }
            }
        }
        return (dx, dw);
    }

    [Theory]
    [InlineData(24, 36, 1, 0, 0)]  // expansion: vector loops along the outputs
    [InlineData(36, 24, 1, 0, 0)]  // projection: along the inputs
    [InlineData(24, 144, 2, 0, 2)] // IGCV3's expansion 12 → 72 per group, output shuffled
    [InlineData(144, 24, 2, 3, 0)] // IGCV3's projection 72 → 12 per group, input shuffled
    [InlineData(45, 18, 3, 5, 2)]  // odd runs (15 and 6 per group) with both shuffles
    public void LargeTensor_BothLoopOrientations_MatchNaiveGradients(int cin, int cout, int groups, int gin, int gout)
    {
        // 3·13·13 = 507 rows: two full 256-row weight-gradient chunks and a short one, split across
        // threads; small integers keep every sum exact, so the comparison is bit for bit.
        var spec = new PointwiseSpec(groups, gin, gout);
        var x = Make.SmallIntegers([3, 13, 13, cin], 31);
        var w = Make.SmallIntegers([cout, cin / groups], 32);
        var seed = Make.SmallIntegers([3, 13, 13, cout], 33);
        x.RequiresGrad = true;
        w.RequiresGrad = true;
        var y = Ops.Pointwise(x, w, spec);
        Assert.Equal(Array.ConvertAll(NaiveForward(x.ToDoubleArray(), w.ToDoubleArray(), 507, cin, cout, spec), v => (float)v), y.ToFloatArray());
        y.Backward(seed);
        var (dx, dw) = NaiveBackward(x.ToDoubleArray(), w.ToDoubleArray(), seed.ToDoubleArray(), 507, cin, cout, spec);
        Assert.Equal(Array.ConvertAll(dx, v => (float)v), x.Grad!.ToFloatArray());
        Assert.Equal(Array.ConvertAll(dw, v => (float)v), w.Grad!.ToFloatArray());
    }

    // ---- argument checks ----------------------------------------------------------------------

    private static ArgumentException Rejects(Tensor x, Tensor w, PointwiseSpec spec, params string[] mentions)
    {
        var e = Assert.Throws<ArgumentException>(() => Ops.Pointwise(x, w, spec));
        Assert.StartsWith("pointwise:", e.Message);
        foreach (var m in mentions) Assert.Contains(m, e.Message);
        return e;
    }

    [Fact]
    public void Rejects_InputThatIsNotRank4() =>
        Rejects(Make.Random([2, 6], 1), Make.Random([4, 6], 2), new PointwiseSpec(), "[2, 6]");

    [Fact]
    public void Rejects_WeightThatIsNotRank2() =>
        Rejects(Make.Random([1, 2, 2, 6], 1), Make.Random([4, 1, 1, 6], 2), new PointwiseSpec(), "[4, 1, 1, 6]");

    [Fact]
    public void Rejects_WeightWithWrongInputWidth() =>
        Rejects(Make.Random([1, 2, 2, 6], 1), Make.Random([4, 6], 2), new PointwiseSpec(2), "[4, 6]", "[4, 3]");

    [Fact]
    public void Rejects_GroupsThatDoNotDivideInputChannels() =>
        Rejects(Make.Random([1, 2, 2, 7], 1), Make.Random([6, 3], 2), new PointwiseSpec(2), "[1, 2, 2, 7]", "groups 2");

    [Fact]
    public void Rejects_GroupsThatDoNotDivideOutputChannels() =>
        Rejects(Make.Random([1, 2, 2, 6], 1), Make.Random([5, 3], 2), new PointwiseSpec(2), "[5, 3]", "groups 2");

    [Fact]
    public void Rejects_NonPositiveGroups() =>
        Rejects(Make.Random([1, 2, 2, 6], 1), Make.Random([4, 6], 2), new PointwiseSpec(0), "groups");

    [Fact]
    public void Rejects_InputShuffleThatDoesNotDivideInputChannels() =>
        Rejects(Make.Random([1, 2, 2, 6], 1), Make.Random([4, 6], 2), new PointwiseSpec(1, 4, 0), "input shuffle 4", "[1, 2, 2, 6]");

    [Fact]
    public void Rejects_OutputShuffleThatDoesNotDivideOutputChannels() =>
        Rejects(Make.Random([1, 2, 2, 6], 1), Make.Random([4, 6], 2), new PointwiseSpec(1, 0, 3), "output shuffle 3", "[4, 6]");

    [Fact]
    public void Rejects_NegativeShuffles()
    {
        Rejects(Make.Random([1, 2, 2, 6], 1), Make.Random([4, 6], 2), new PointwiseSpec(1, -2, 0), "input shuffle", "-2");
        Rejects(Make.Random([1, 2, 2, 6], 1), Make.Random([4, 6], 2), new PointwiseSpec(1, 0, -2), "output shuffle", "-2");
    }

    [Fact]
    public void Rejects_DTypeMismatch() =>
        Rejects(Make.Random([1, 2, 2, 6], 1, DType.F32), Make.Random([4, 6], 2, DType.F64), new PointwiseSpec(), "F32", "F64");

    [Fact]
    public void Rejects_DeviceMismatch()
    {
        // A second CPU backend instance is a different device as far as the ops are concerned.
        var other = new CpuBackend();
        var w = Tensor.FromHostDoubles(other, new double[24], new Shape(4, 6), DType.F64);
        Rejects(Make.Random([1, 2, 2, 6], 1), w, new PointwiseSpec(), "device");
    }
}
