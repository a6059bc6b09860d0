using Igcv3.Engine;
using Igcv3.Engine.Cpu;
using Igcv3.Tests.Support;
using Xunit;

namespace Igcv3.Tests.Engine;

public class Conv2dTests
{
    // n, h, w, cin, cout, kernel, stride, padding, groups: every case is awkward in some way.
    public static TheoryData<int, int, int, int, int, int, int, int, int> Cases => new()
    {
        { 1, 1, 1, 3, 5, 1, 1, 0, 1 }, // K = 1 on a single pixel
        { 3, 5, 5, 3, 6, 3, 1, 1, 3 }, // batch 3, groups 3, one input channel per group
        { 2, 5, 4, 4, 6, 3, 2, 1, 2 }, // stride 2, H ≠ W, groups 2
        { 1, 5, 5, 2, 3, 7, 1, 3, 1 }, // K = 7, padding 3: most taps of most windows are padding
        { 1, 6, 5, 3, 5, 3, 2, 0, 1 }, // no padding, stride 2 dropping the last row
        { 2, 1, 1, 4, 2, 3, 1, 1, 2 }, // H = W = 1 under a 3x3 kernel: only the centre tap is live
        { 1, 4, 3, 3, 3, 1, 2, 0, 3 }, // K = 1, stride 2, groups 3
        { 1, 2, 3, 3, 3, 3, 2, 3, 1 }, // padding 3 > K − 1: some windows lie wholly in the padding
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Conv2d_GradientMatchesFiniteDifferences(int n, int h, int w, int cin, int cout, int k, int stride, int padding, int groups)
    {
        var spec = new Conv2dSpec(k, stride, padding, groups);
        var x = Make.Random([n, h, w, cin], 1);
        var weight = Make.Random([cout, k, k, cin / groups], 2);
        GradCheck.Check($"conv2d {spec}", () => Ops.Conv2d(x, weight, spec), [x, weight]);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Conv2d_ForwardMatchesNaiveReference(int n, int h, int w, int cin, int cout, int k, int stride, int padding, int groups)
    {
        var spec = new Conv2dSpec(k, stride, padding, groups);
        Shape xShape = [n, h, w, cin], wShape = [cout, k, k, cin / groups];
        var x64 = Make.Random(xShape, 3);
        var w64 = Make.Random(wShape, 4);
        var (expected, magnitude) = NaiveConv2d(x64, w64, spec);
        int terms = k * k * (cin / groups);

        // F64: the op and the reference differ only in summation order.
        var y64 = Ops.Conv2d(x64, w64, spec);
        Assert.Equal(expected.Shape, y64.Shape);
        AssertWithinRoundoff("conv2d F64", y64.ToDoubleArray(), expected.ToDoubleArray(), magnitude, terms, Math.Pow(2, -53));

        // F32 against the same numbers in F64: rounding the inputs plus float summation.
        var y32 = Ops.Conv2d(Make.Random(xShape, 3, DType.F32), Make.Random(wShape, 4, DType.F32), spec);
        Assert.Equal(DType.F32, y32.DType);
        AssertWithinRoundoff("conv2d F32 vs F64", y32.ToDoubleArray(), y64.ToDoubleArray(), magnitude, terms, Math.Pow(2, -24));
    }

    [Fact]
    public void Conv2d_BackwardMatchesNaiveReference_WithManyOutputChannelBlocks()
    {
        // Cout = 39 splits the weight gradient over several blocks of output channels (with a
        // short last block on most core counts); stride 2, groups 1 and 3.
        var spec = new Conv2dSpec(3, 2, 1, 1);
        foreach (int groups in new[] { 1, 3 })
        {
            spec = spec with { Groups = groups };
            var x = Make.Random([2, 7, 6, 6], 5);
            var w = Make.Random([39, 3, 3, 6 / groups], 6);
            var dy = Make.Random([2, 4, 3, 39], 7);
            var dx = Make.Random(x.Shape, 8);
            var dw = Make.Random(w.Shape, 9);
            var (dxExpected, dwExpected) = NaiveConv2dBackward(x, w, dy, spec);
            double[] dx0 = dx.ToDoubleArray(), dw0 = dw.ToDoubleArray();

            // Straight to the backend with non-zero gradients: it must add, not overwrite.
            Make.Cpu.Conv2dBackward(x, w, dy, dx, dw, spec);
            AssertClose($"dx groups {groups}", dx.ToDoubleArray(), Add(dx0, dxExpected), 1e-12);
            AssertClose($"dw groups {groups}", dw.ToDoubleArray(), Add(dw0, dwExpected), 1e-12);

            // A null gradient is skipped; the other one still accumulates.
            Make.Cpu.Conv2dBackward(x, w, dy, null, dw, spec);
            AssertClose($"dw twice groups {groups}", dw.ToDoubleArray(), Add(Add(dw0, dwExpected), dwExpected), 1e-12);
            Make.Cpu.Conv2dBackward(x, w, dy, dx, null, spec);
            AssertClose($"dx twice groups {groups}", dx.ToDoubleArray(), Add(Add(dx0, dxExpected), dxExpected), 1e-12);
        }
    }

    [Fact]
    public void Conv2d_ForwardOverwritesOutput()
    {
        var spec = new Conv2dSpec(3, 1, 1, 1);
        var x = Make.Random([1, 3, 3, 2], 1);
        var w = Make.Random([2, 3, 3, 2], 2);
        var y = Make.Random([1, 3, 3, 2], 3);
        Make.Cpu.Conv2dForward(x, w, y, spec);
        AssertClose("forward into a dirty buffer", y.ToDoubleArray(), NaiveConv2d(x, w, spec).Output.ToDoubleArray(), 1e-12);
    }

    // ---- validation -------------------------------------------------------------------------

    public static TheoryData<string, int[], int[], int, int, int, int, string[]> BadArguments => new()
    {
        { "x rank", [2, 5, 5], [4, 3, 3, 3], 3, 1, 1, 1, ["[N, H, W, Cin]", "[2, 5, 5]"] },
        { "w rank", [1, 5, 5, 3], [4, 3, 3], 3, 1, 1, 1, ["[Cout, K, K, Cin/groups]", "[4, 3, 3]"] },
        { "kernel mismatch", [1, 5, 5, 3], [4, 5, 5, 3], 3, 1, 1, 1, ["[4, 3, 3, 3]", "[4, 5, 5, 3]"] },
        { "Cin/groups mismatch", [1, 5, 5, 6], [4, 3, 3, 6], 3, 1, 1, 2, ["[4, 3, 3, 3]", "[4, 3, 3, 6]", "groups 2"] },
        { "groups do not divide Cin", [1, 5, 5, 5], [4, 3, 3, 2], 3, 1, 1, 2, ["groups 2", "Cin", "[1, 5, 5, 5]"] },
        { "groups do not divide Cout", [1, 5, 5, 6], [5, 3, 3, 2], 3, 1, 1, 3, ["groups 3", "Cout", "[5, 3, 3, 2]"] },
        { "zero kernel", [1, 5, 5, 3], [4, 0, 0, 3], 0, 1, 1, 1, ["kernel", "0"] },
        { "zero stride", [1, 5, 5, 3], [4, 3, 3, 3], 3, 0, 1, 1, ["stride", "0"] },
        { "negative padding", [1, 5, 5, 3], [4, 3, 3, 3], 3, 1, -1, 1, ["padding", "-1"] },
        { "zero groups", [1, 5, 5, 3], [4, 3, 3, 3], 3, 1, 1, 0, ["groups", "0"] },
        { "kernel larger than padded height", [1, 2, 9, 3], [4, 5, 5, 3], 5, 1, 1, 1, ["kernel 5", "[1, 2, 9, 3]"] },
        { "kernel larger than padded width", [1, 9, 2, 3], [4, 5, 5, 3], 5, 1, 1, 1, ["kernel 5", "[1, 9, 2, 3]"] },
        { "empty channels", [1, 5, 5, 0], [4, 3, 3, 0], 3, 1, 1, 1, ["Cin", "[1, 5, 5, 0]"] },
    };

    [Theory]
    [MemberData(nameof(BadArguments))]
    public void Conv2d_RejectsBadArguments_NamingOpAndShapes(string why, int[] xShape, int[] wShape, int k, int stride, int padding, int groups, string[] mentions)
    {
        var x = Make.Random(xShape, 1);
        var w = Make.Random(wShape, 2);
        var e = Assert.Throws<ArgumentException>(() => Ops.Conv2d(x, w, new Conv2dSpec(k, stride, padding, groups)));
        Assert.StartsWith("conv2d: ", e.Message);
        foreach (var mention in mentions) Assert.True(e.Message.Contains(mention), $"{why}: '{e.Message}' does not mention '{mention}'");
    }

    [Fact]
    public void Conv2d_RejectsDTypeMismatch()
    {
        var x = Make.Random([1, 3, 3, 2], 1, DType.F32);
        var w = Make.Random([2, 1, 1, 2], 2, DType.F64);
        var e = Assert.Throws<ArgumentException>(() => Ops.Conv2d(x, w, new Conv2dSpec(1)));
        Assert.StartsWith("conv2d: ", e.Message);
        Assert.Contains("F64", e.Message);
    }

    [Fact]
    public void Conv2d_RejectsIntegerTensors()
    {
        var x = Tensor.Zeros(Make.Cpu, [1, 3, 3, 2], DType.I32);
        var w = Tensor.Zeros(Make.Cpu, [2, 1, 1, 2], DType.I32);
        var e = Assert.Throws<ArgumentException>(() => Ops.Conv2d(x, w, new Conv2dSpec(1)));
        Assert.StartsWith("conv2d: ", e.Message);
        Assert.Contains("I32", e.Message);
    }

    [Fact]
    public void Conv2d_RejectsDeviceMismatch()
    {
        // A second backend instance is another device as far as the op can tell.
        var x = Make.Random([1, 3, 3, 2], 1);
        var w = Tensor.Zeros(new CpuBackend(), [2, 1, 1, 2], DType.F64);
        var e = Assert.Throws<ArgumentException>(() => Ops.Conv2d(x, w, new Conv2dSpec(1)));
        Assert.StartsWith("conv2d: ", e.Message);
        Assert.Contains("device", e.Message);
    }

    // ---- the independent reference ----------------------------------------------------------

    /// <summary>The convolution straight from its definition, in double, plus Σ|x·w| per output
    /// (the scale of its rounding error).</summary>
    internal static (Tensor Output, double[] Magnitude) NaiveConv2d(Tensor xTensor, Tensor wTensor, Conv2dSpec spec)
    {
        double[] x = xTensor.ToDoubleArray(), w = wTensor.ToDoubleArray();
        int n = xTensor.Shape[0], h = xTensor.Shape[1], wd = xTensor.Shape[2], cin = xTensor.Shape[3], cout = wTensor.Shape[0];
        int k = spec.Kernel, s = spec.Stride, p = spec.Padding, cg = cin / spec.Groups, og = cout / spec.Groups;
        int ho = (h + 2 * p - k) / s + 1, wo = (wd + 2 * p - k) / s + 1;
        var y = new double[n * ho * wo * cout];
        var magnitude = new double[y.Length];
        for (int b = 0; b < n; b++)
        for (int oh = 0; oh < ho; oh++)
        for (int ow = 0; ow < wo; ow++)
        for (int co = 0; co < cout; co++)
        {
            int o = ((b * ho + oh) * wo + ow) * cout + co;
            for (int kh = 0; kh < k; kh++)
            for (int kw = 0; kw < k; kw++)
            for (int ci = 0; ci < cg; ci++)
            {
                int ih = oh * s - p + kh, iw = ow * s - p + kw;
                if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                double term = x[((b * h + ih) * wd + iw) * cin + co / og * cg + ci] * w[((co * k + kh) * k + kw) * cg + ci];
                y[o] += term;
                magnitude[o] += Math.Abs(term);
            }
        }
        return (Tensor.FromArray(Make.Cpu, y, new Shape(n, ho, wo, cout)), magnitude);
    }

    /// <summary>dx and dw of the naive convolution for an output gradient dy, by the same loops
    /// with the products sent the other way.</summary>
    internal static (double[] Dx, double[] Dw) NaiveConv2dBackward(Tensor xTensor, Tensor wTensor, Tensor dyTensor, Conv2dSpec spec)
    {
        double[] x = xTensor.ToDoubleArray(), w = wTensor.ToDoubleArray(), dy = dyTensor.ToDoubleArray();
        int n = xTensor.Shape[0], h = xTensor.Shape[1], wd = xTensor.Shape[2], cin = xTensor.Shape[3], cout = wTensor.Shape[0];
        int k = spec.Kernel, s = spec.Stride, p = spec.Padding, cg = cin / spec.Groups, og = cout / spec.Groups;
        int ho = dyTensor.Shape[1], wo = dyTensor.Shape[2];
        double[] dx = new double[x.Length], dw = new double[w.Length];
        for (int b = 0; b < n; b++)
        for (int oh = 0; oh < ho; oh++)
        for (int ow = 0; ow < wo; ow++)
        for (int co = 0; co < cout; co++)
        for (int kh = 0; kh < k; kh++)
        for (int kw = 0; kw < k; kw++)
        for (int ci = 0; ci < cg; ci++)
        {
            int ih = oh * s - p + kh, iw = ow * s - p + kw;
            if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
            int xi = ((b * h + ih) * wd + iw) * cin + co / og * cg + ci, wi = ((co * k + kh) * k + kw) * cg + ci;
            double g = dy[((b * ho + oh) * wo + ow) * cout + co];
            dx[xi] += g * w[wi];
            dw[wi] += g * x[xi];
        }
        return (dx, dw);
    }

    /// <summary>|actual − expected| ≤ 2·(terms + 2)·u·Σ|x·w|: the classical bound on a sum of
    /// <paramref name="terms"/> rounded products (plus the rounding of both inputs) with unit
    /// roundoff u, doubled to cover second-order terms. Anything wrong in the indexing is off by
    /// a whole term, far above it.</summary>
    internal static void AssertWithinRoundoff(string what, double[] actual, double[] expected, double[] magnitude, int terms, double unitRoundoff)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double bound = 2 * (terms + 2) * unitRoundoff * magnitude[i];
            double error = Math.Abs(actual[i] - expected[i]);
            if (error > bound) Assert.Fail($"{what}: element {i}: {actual[i]:G17} vs {expected[i]:G17}, error {error:G3} > bound {bound:G3}");
        }
    }

    internal static void AssertClose(string what, double[] actual, double[] expected, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs(actual[i] - expected[i]);
            if (error > tolerance * (1 + Math.Abs(expected[i]))) Assert.Fail($"{what}: element {i}: {actual[i]:G17} vs {expected[i]:G17}");
        }
    }

    internal static double[] Add(double[] a, double[] b)
    {
        var sum = new double[a.Length];
        for (int i = 0; i < a.Length; i++) sum[i] = a[i] + b[i];
        return sum;
    }
}
