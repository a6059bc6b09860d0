using Igcv3.Engine;
using Igcv3.Engine.Cpu;
using Igcv3.Tests.Support;
using Xunit;

namespace Igcv3.Tests.Engine;

public class DepthwiseTests
{
    // n, h, w, c, stride
    public static TheoryData<int, int, int, int, int> Cases => new()
    {
        { 1, 1, 1, 3, 1 }, // a single pixel: only the centre tap is live
        { 1, 1, 1, 2, 2 },
        { 3, 5, 5, 3, 1 }, // batch 3, odd channels
        { 3, 5, 5, 5, 2 }, // stride 2 on an odd size keeps the last row
        { 2, 6, 4, 7, 2 }, // stride 2 on even sizes, H ≠ W
        { 1, 4, 7, 1, 1 }, // one channel, H ≠ W
        { 1, 2, 2, 9, 2 }, // more channels than one vector of doubles
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Depthwise_GradientMatchesFiniteDifferences(int n, int h, int w, int c, int stride)
    {
        var x = Make.Random([n, h, w, c], 1);
        var weight = Make.Random([c, 3, 3], 2);
        GradCheck.Check($"depthwise3x3 stride {stride}", () => Ops.Depthwise3x3(x, weight, stride), [x, weight]);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Depthwise_ForwardMatchesNaiveReference(int n, int h, int w, int c, int stride)
    {
        Shape xShape = [n, h, w, c], wShape = [c, 3, 3];
        var x64 = Make.Random(xShape, 3);
        var w64 = Make.Random(wShape, 4);
        var (expected, magnitude) = NaiveDepthwise(x64, w64, stride);

        // F64: the op and the reference differ only in summation order (bound: Conv2dTests).
        var y64 = Ops.Depthwise3x3(x64, w64, stride);
        Assert.Equal(expected.Shape, y64.Shape);
        Conv2dTests.AssertWithinRoundoff("depthwise F64", y64.ToDoubleArray(), expected.ToDoubleArray(), magnitude, 9, Math.Pow(2, -53));

        // F32 against the same numbers in F64.
        var y32 = Ops.Depthwise3x3(Make.Random(xShape, 3, DType.F32), Make.Random(wShape, 4, DType.F32), stride);
        Assert.Equal(DType.F32, y32.DType);
        Conv2dTests.AssertWithinRoundoff("depthwise F32 vs F64", y32.ToDoubleArray(), y64.ToDoubleArray(), magnitude, 9, Math.Pow(2, -24));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Depthwise_BackwardMatchesNaiveReference_WithManyChannelBlocks(int stride)
    {
        // C = 70 cuts the weight gradient into several channel blocks, the last one short and
        // not a whole number of vectors.
        var x = Make.Random([2, 6, 5, 70], 5);
        var w = Make.Random([70, 3, 3], 6);
        var dy = Make.Random([2, (6 - 1) / stride + 1, (5 - 1) / stride + 1, 70], 7);
        var dx = Make.Random(x.Shape, 8);
        var dw = Make.Random(w.Shape, 9);
        var (dxExpected, dwExpected) = NaiveDepthwiseBackward(x, w, dy, stride);
        double[] dx0 = dx.ToDoubleArray(), dw0 = dw.ToDoubleArray();

        // Straight to the backend with non-zero gradients: it must add, not overwrite.
        Make.Cpu.DepthwiseBackward(x, w, dy, dx, dw, stride);
        Conv2dTests.AssertClose("dx", dx.ToDoubleArray(), Conv2dTests.Add(dx0, dxExpected), 1e-12);
        Conv2dTests.AssertClose("dw", dw.ToDoubleArray(), Conv2dTests.Add(dw0, dwExpected), 1e-12);

        // A null gradient is skipped; the other one still accumulates.
        Make.Cpu.DepthwiseBackward(x, w, dy, null, dw, stride);
        Conv2dTests.AssertClose("dw twice", dw.ToDoubleArray(), Conv2dTests.Add(Conv2dTests.Add(dw0, dwExpected), dwExpected), 1e-12);
        Make.Cpu.DepthwiseBackward(x, w, dy, dx, null, stride);
        Conv2dTests.AssertClose("dx twice", dx.ToDoubleArray(), Conv2dTests.Add(Conv2dTests.Add(dx0, dxExpected), dxExpected), 1e-12);
    }

    [Theory]
    [InlineData(1, 5, 5, 3, 1)]
    [InlineData(3, 5, 4, 5, 2)]
    [InlineData(2, 6, 6, 37, 2)]
    [InlineData(1, 1, 1, 4, 1)]
    public void Depthwise_EqualsConv2dWithOneGroupPerChannel_BitExact(int n, int h, int w, int c, int stride)
    {
        // Small integers make every sum exact in F32, so any order of summation gives the same
        // bits: the two ops must agree exactly, forward and backward.
        var xDepthwise = Make.SmallIntegers([n, h, w, c], 1);
        var xConv = Make.SmallIntegers([n, h, w, c], 1);
        var wDepthwise = Make.SmallIntegers([c, 3, 3], 2);
        var wConv = Make.SmallIntegers([c, 3, 3, 1], 2); // OHWI [C, 3, 3, 1]: the same memory as [C, 3, 3]
        foreach (var t in new[] { xDepthwise, xConv, wDepthwise, wConv }) t.RequiresGrad = true;

        var yDepthwise = Ops.Depthwise3x3(xDepthwise, wDepthwise, stride);
        var yConv = Ops.Conv2d(xConv, wConv, new Conv2dSpec(3, stride, 1, c));
        Assert.Equal(yConv.Shape, yDepthwise.Shape);
        Assert.Equal(yConv.ToFloatArray(), yDepthwise.ToFloatArray());

        var seed = Make.SmallIntegers(yConv.Shape, 3);
        yDepthwise.Backward(seed);
        yConv.Backward(seed);
        Assert.Equal(xConv.Grad!.ToFloatArray(), xDepthwise.Grad!.ToFloatArray());
        Assert.Equal(wConv.Grad!.ToFloatArray(), wDepthwise.Grad!.ToFloatArray());
    }

    [Fact]
    public void Depthwise_ForwardOverwritesOutput()
    {
        var x = Make.Random([1, 3, 3, 2], 1);
        var w = Make.Random([2, 3, 3], 2);
        var y = Make.Random([1, 3, 3, 2], 3);
        Make.Cpu.DepthwiseForward(x, w, y, 1);
        Conv2dTests.AssertClose("forward into a dirty buffer", y.ToDoubleArray(), NaiveDepthwise(x, w, 1).Output.ToDoubleArray(), 1e-12);
    }

    // ---- validation -------------------------------------------------------------------------

    public static TheoryData<string, int[], int[], int, string[]> BadArguments => new()
    {
        { "x rank", [5, 5, 3], [3, 3, 3], 1, ["[N, H, W, C]", "[5, 5, 3]"] },
        { "w as PyTorch's rank 4", [1, 5, 5, 3], [3, 1, 3, 3], 1, ["[C, 3, 3]", "[3, 1, 3, 3]"] },
        { "w for other channels", [1, 5, 5, 3], [4, 3, 3], 1, ["[3, 3, 3]", "[4, 3, 3]", "[1, 5, 5, 3]"] },
        { "w not 3x3", [1, 5, 5, 3], [3, 5, 5], 1, ["[3, 3, 3]", "[3, 5, 5]"] },
        { "stride 3", [1, 5, 5, 3], [3, 3, 3], 3, ["stride", "3"] },
        { "stride 0", [1, 5, 5, 3], [3, 3, 3], 0, ["stride", "0"] },
        { "negative stride", [1, 5, 5, 3], [3, 3, 3], -1, ["stride", "-1"] },
        { "empty height", [1, 0, 5, 3], [3, 3, 3], 2, ["[1, 0, 5, 3]"] },
        { "empty width", [1, 5, 0, 3], [3, 3, 3], 1, ["[1, 5, 0, 3]"] },
    };

    [Theory]
    [MemberData(nameof(BadArguments))]
    public void Depthwise_RejectsBadArguments_NamingOpAndShapes(string why, int[] xShape, int[] wShape, int stride, string[] mentions)
    {
        var x = Make.Random(xShape, 1);
        var w = Make.Random(wShape, 2);
        var e = Assert.Throws<ArgumentException>(() => Ops.Depthwise3x3(x, w, stride));
        Assert.StartsWith("depthwise3x3: ", e.Message);
        foreach (var mention in mentions) Assert.True(e.Message.Contains(mention), $"{why}: '{e.Message}' does not mention '{mention}'");
    }

    [Fact]
    public void Depthwise_RejectsDTypeMismatch()
    {
        var x = Make.Random([1, 3, 3, 2], 1, DType.F64);
        var w = Make.Random([2, 3, 3], 2, DType.F32);
        var e = Assert.Throws<ArgumentException>(() => Ops.Depthwise3x3(x, w, 1));
        Assert.StartsWith("depthwise3x3: ", e.Message);
        Assert.Contains("F32", e.Message);
    }

    [Fact]
    public void Depthwise_RejectsDeviceMismatch()
    {
        // A second backend instance is another device as far as the op can tell.
        var x = Make.Random([1, 3, 3, 2], 1);
        var w = Tensor.Zeros(new CpuBackend(), [2, 3, 3], DType.F64);
        var e = Assert.Throws<ArgumentException>(() => Ops.Depthwise3x3(x, w, 1));
        Assert.StartsWith("depthwise3x3: ", e.Message);
        Assert.Contains("device", e.Message);
    }

    // ---- the independent reference ----------------------------------------------------------

    /// <summary>Depthwise 3x3, pad 1, from its definition in double, plus Σ|x·w| per output.</summary>
    private static (Tensor Output, double[] Magnitude) NaiveDepthwise(Tensor xTensor, Tensor wTensor, int stride)
    {
        double[] x = xTensor.ToDoubleArray(), w = wTensor.ToDoubleArray();
        int n = xTensor.Shape[0], h = xTensor.Shape[1], wd = xTensor.Shape[2], c = xTensor.Shape[3];
        int ho = (h + 2 - 3) / stride + 1, wo = (wd + 2 - 3) / stride + 1;
        var y = new double[n * ho * wo * c];
        var magnitude = new double[y.Length];
        for (int b = 0; b < n; b++)
        for (int oh = 0; oh < ho; oh++)
        for (int ow = 0; ow < wo; ow++)
        for (int ch = 0; ch < c; ch++)
        for (int kh = 0; kh < 3; kh++)
        for (int kw = 0; kw < 3; kw++)
        {
            int ih = oh * stride - 1 + kh, iw = ow * stride - 1 + kw;
            if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
            int o = ((b * ho + oh) * wo + ow) * c + ch;
            double term = x[((b * h + ih) * wd + iw) * c + ch] * w[(ch * 3 + kh) * 3 + kw];
            y[o] += term;
            magnitude[o] += Math.Abs(term);
        }
        return (Tensor.FromArray(Make.Cpu, y, new Shape(n, ho, wo, c)), magnitude);
    }

    /// <summary>dx and dw of the naive depthwise convolution for an output gradient dy.</summary>
    private static (double[] Dx, double[] Dw) NaiveDepthwiseBackward(Tensor xTensor, Tensor wTensor, Tensor dyTensor, int stride)
    {
        double[] x = xTensor.ToDoubleArray(), w = wTensor.ToDoubleArray(), dy = dyTensor.ToDoubleArray();
        int n = xTensor.Shape[0], h = xTensor.Shape[1], wd = xTensor.Shape[2], c = xTensor.Shape[3];
        int ho = dyTensor.Shape[1], wo = dyTensor.Shape[2];
        double[] dx = new double[x.Length], dw = new double[w.Length];
        for (int b = 0; b < n; b++)
        for (int oh = 0; oh < ho; oh++)
        for (int ow = 0; ow < wo; ow++)
        for (int ch = 0; ch < c; ch++)
        for (int kh = 0; kh < 3; kh++)
        for (int kw = 0; kw < 3; kw++)
        {
            int ih = oh * stride - 1 + kh, iw = ow * stride - 1 + kw;
            if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
            int xi = ((b * h + ih) * wd + iw) * c + ch, wi = (ch * 3 + kh) * 3 + kw;
            double g = dy[((b * ho + oh) * wo + ow) * c + ch];
            dx[xi] += g * w[wi];
            dw[wi] += g * x[xi];
        }
        return (dx, dw);
    }
}
