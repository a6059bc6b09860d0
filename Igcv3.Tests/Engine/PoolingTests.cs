using Igcv3.Engine;
using Igcv3.Engine.Cpu;
using Igcv3.Tests.Support;
using Xunit;

namespace Igcv3.Tests.Engine;

public class PoolingTests
{
    // ---- global average pool ------------------------------------------------------------

    [Theory]
    [InlineData(1, 1, 1, 3)]
    [InlineData(3, 5, 5, 7)]
    [InlineData(2, 4, 3, 5)]
    public void GlobalAvgPool_GradientMatchesFiniteDifferences(int n, int h, int w, int c)
    {
        var x = Make.Random([n, h, w, c], 1);
        GradCheck.Check("global_avg_pool", () => Ops.GlobalAvgPool(x), [x]);
    }

    [Fact]
    public void GlobalAvgPool_EqualsNaiveMean()
    {
        const int n = 3, h = 5, w = 4, c = 7;
        var x = Make.Random([n, h, w, c], 2);
        var y = Ops.GlobalAvgPool(x);
        Assert.Equal(new Shape(n, c), y.Shape);
        double[] xs = x.ToDoubleArray(), ys = y.ToDoubleArray();
        for (int b = 0; b < n; b++)
        {
            for (int k = 0; k < c; k++)
            {
                double sum = 0;
                for (int i = 0; i < h; i++)
                {
                    for (int j = 0; j < w; j++) sum += xs[((b * h + i) * w + j) * c + k];
                }
                Assert.Equal(sum / (h * w), ys[b * c + k], 1e-14);
            }
        }
    }

    [Fact]
    public void GlobalAvgPool_BackwardAccumulates()
    {
        var x = Make.Random([3, 5, 5, 7], 3);
        AccumulationCheck.AssertAccumulates("global_avg_pool", () => Ops.GlobalAvgPool(x), [x]);
    }

    [Fact]
    public void GlobalAvgPool_RejectsWrongRank()
    {
        var e = Assert.Throws<ArgumentException>(() => Ops.GlobalAvgPool(Make.Random([2, 5, 7], 1)));
        Assert.StartsWith("global_avg_pool:", e.Message);
        Assert.Contains("[2, 5, 7]", e.Message);
    }

    [Fact]
    public void GlobalAvgPool_RejectsEmptySpatialExtent()
    {
        var e = Assert.Throws<ArgumentException>(() => Ops.GlobalAvgPool(Tensor.Zeros(Make.Cpu, [2, 0, 3, 4], DType.F64)));
        Assert.StartsWith("global_avg_pool:", e.Message);
        Assert.Contains("[2, 0, 3, 4]", e.Message);
    }

    [Fact]
    public void GlobalAvgPool_RejectsIntegerInput()
    {
        var x = Tensor.FromArray(Make.Cpu, new int[4], [1, 2, 2, 1]);
        var e = Assert.Throws<ArgumentException>(() => Ops.GlobalAvgPool(x));
        Assert.Contains("I32", e.Message);
    }

    // ---- max pool -------------------------------------------------------------------------

    public static TheoryData<int[], int, int, int> MaxPoolCases() => new()
    {
        { [1, 5, 5, 3], 3, 2, 1 },  // the ResNet stem's 3x3/2 pad 1
        { [3, 7, 5, 5], 3, 2, 1 },  // odd, non-square
        { [3, 7, 5, 5], 3, 2, 0 },  // no padding: the last row/column of 7 is dropped
        { [2, 1, 1, 3], 3, 2, 1 },  // H = W = 1: one window, mostly padding
        { [2, 6, 5, 3], 2, 2, 0 },
        { [1, 5, 5, 2], 3, 1, 1 },  // stride 1: heavy overlap
    };

    [Theory]
    [MemberData(nameof(MaxPoolCases))]
    public void MaxPool_GradientMatchesFiniteDifferences(int[] shape, int kernel, int stride, int padding)
    {
        // Continuous random values: ties (where max is not differentiable) have probability 0.
        var x = Make.Random(shape, 4 + shape.Sum());
        GradCheck.Check($"max_pool k{kernel} s{stride} p{padding}", () => Ops.MaxPool(x, new PoolSpec(kernel, stride, padding)), [x]);
    }

    /// <summary>Forward and backward written naively in the test: scan each window in row-major
    /// order over real positions (padding never wins), keep the first strict maximum.</summary>
    private static (double[] Y, double[] Dx) NaiveMaxPool(double[] x, double[] dy, int n, int h, int w, int c, PoolSpec spec)
    {
        int ho = spec.OutputSize(h), wo = spec.OutputSize(w);
        var y = new double[n * ho * wo * c];
        var dx = new double[x.Length];
        for (int b = 0; b < n; b++)
        for (int oh = 0; oh < ho; oh++)
        for (int ow = 0; ow < wo; ow++)
        for (int k = 0; k < c; k++)
        {
            int best = -1;
            for (int i = 0; i < spec.Kernel; i++)
            for (int j = 0; j < spec.Kernel; j++)
            {
                int ih = oh * spec.Stride - spec.Padding + i, iw = ow * spec.Stride - spec.Padding + j;
                if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
                int index = ((b * h + ih) * w + iw) * c + k;
                if (best == -1 || x[index] > x[best]) best = index;
            }
            int o = ((b * ho + oh) * wo + ow) * c + k;
            y[o] = x[best];
            dx[best] += dy[o];
        }
        return (y, dx);
    }

    [Theory]
    [MemberData(nameof(MaxPoolCases))]
    public void MaxPool_WithTies_RoutesGradientToFirstMaximum(int[] shape, int kernel, int stride, int padding)
    {
        // Small integers in [-1, 1] make ties everywhere (and all-negative windows, where the −∞
        // padding must not win); the gradient must go to the first maximum in row-major order.
        var spec = new PoolSpec(kernel, stride, padding);
        var x = Make.SmallIntegers(shape, 5, range: 1, dtype: DType.F64);
        x.RequiresGrad = true;
        var y = Ops.MaxPool(x, spec);
        var dy = Make.SmallIntegers(y.Shape, 6, range: 4, dtype: DType.F64);
        y.Backward(dy);
        var (expectedY, expectedDx) = NaiveMaxPool(x.ToDoubleArray(), dy.ToDoubleArray(), shape[0], shape[1], shape[2], shape[3], spec);
        Assert.Equal([shape[0], spec.OutputSize(shape[1]), spec.OutputSize(shape[2]), shape[3]], y.Shape.ToArray());
        Assert.Equal(expectedY, y.ToDoubleArray());
        Assert.Equal(expectedDx, x.Grad!.ToDoubleArray());
    }

    [Fact]
    public void MaxPool_Float_MatchesDouble()
    {
        var spec = new PoolSpec(3, 2, 1);
        var x64 = Make.Random([3, 7, 5, 5], 7);
        var x32 = Tensor.FromArray(Make.Cpu, x64.ToFloatArray(), x64.Shape);
        Assert.Equal(Ops.MaxPool(x64, spec).ToFloatArray(), Ops.MaxPool(x32, spec).ToFloatArray());
    }

    [Fact]
    public void MaxPool_BackwardAccumulates()
    {
        var x = Make.Random([3, 7, 5, 5], 8);
        AccumulationCheck.AssertAccumulates("max_pool", () => Ops.MaxPool(x, new PoolSpec(3, 2, 1)), [x]);
    }

    public static TheoryData<int[], int, int, int, string> InvalidMaxPools() => new()
    {
        { [5, 5, 3], 3, 2, 1, "[5, 5, 3]" },          // rank 3
        { [1, 5, 5, 3], 0, 2, 0, "kernel" },
        { [1, 5, 5, 3], 3, 0, 1, "stride" },
        { [1, 5, 5, 3], 3, 2, -1, "padding" },
        { [1, 5, 5, 3], 3, 2, 2, "padding" },          // more than kernel/2: windows of padding only
        { [1, 2, 5, 3], 5, 1, 1, "[1, 2, 5, 3]" },     // window larger than the padded input
    };

    [Theory]
    [MemberData(nameof(InvalidMaxPools))]
    public void MaxPool_RejectsInvalidArguments(int[] shape, int kernel, int stride, int padding, string mentioned)
    {
        var x = Make.Random(shape, 1);
        var e = Assert.Throws<ArgumentException>(() => Ops.MaxPool(x, new PoolSpec(kernel, stride, padding)));
        Assert.StartsWith("max_pool:", e.Message);
        Assert.Contains(mentioned, e.Message);
    }

    [Fact]
    public void MaxPool_RejectsIntegerInput()
    {
        var x = Tensor.FromArray(Make.Cpu, new int[9], [1, 3, 3, 1]);
        var e = Assert.Throws<ArgumentException>(() => Ops.MaxPool(x, new PoolSpec(3, 2, 1)));
        Assert.StartsWith("max_pool:", e.Message);
        Assert.Contains("I32", e.Message);
    }

    [Fact]
    public void MaxPool_OnAnotherCpuInstance_StaysOnThatBackend()
    {
        // Outputs are allocated on the input's backend, not on a default one.
        var backend = new CpuBackend();
        var x = Tensor.FromArray(backend, Make.Random([1, 3, 3, 2], 1).ToDoubleArray(), [1, 3, 3, 2]);
        Assert.Same(backend, Ops.MaxPool(x, new PoolSpec(3, 2, 1)).Backend);
        Assert.Same(backend, Ops.GlobalAvgPool(x).Backend);
    }
}
