using Igcv3.Engine;
using Igcv3.Engine.Cpu;
using Xunit;

namespace Igcv3.Tests.Engine;

/// <summary>The CPU reference of the bf16 1x1 convolution (<see cref="CpuBackend.PointwiseForwardBf16"/>)
/// and of its data and weight gradients against the fp32 ops they shadow: bit-exact where every value is a
/// small integer (exact in bf16, every sum exact and below 2⁸), with groups and both permutations; the weights rounded to bf16 where they are
/// not representable; and its argument checks.</summary>
public class PointwiseBf16ReferenceTests
{
    private static CpuBackend Cpu => CpuBackend.Instance;

    [Theory]
    [InlineData(1, 5, 7, 12, 1, 0, 0)]
    [InlineData(3, 5, 12, 18, 3, 3, 6)]
    [InlineData(2, 1, 20, 30, 2, 2, 15)]
    [InlineData(1, 5, 9, 6, 3, 0, 2)]
    public void SmallIntegers_MatchTheFp32OpExactly(int n, int hw, int cin, int cout, int groups, int inShuffle, int outShuffle)
    {
        var spec = new PointwiseSpec(groups, inShuffle, outShuffle);
        var random = new Random(cin * 100 + cout);
        Shape xShape = [n, hw, hw, cin], yShape = [n, hw, hw, cout];
        float[] xs = Enumerable.Range(0, (int)xShape.Count).Select(_ => (float)random.Next(-3, 4)).ToArray();
        float[] ws = Enumerable.Range(0, cout * (cin / groups)).Select(_ => (float)random.Next(-3, 4)).ToArray();
        var x32 = Tensor.FromArray(Cpu, xs, xShape);
        var w = Tensor.FromArray(Cpu, ws, [cout, cin / groups]);
        var expected = Tensor.Zeros(Cpu, yShape);
        Cpu.PointwiseForward(x32, w, expected, spec);

        var x = Bf16(xs, xShape);
        var y = Tensor.Zeros(Cpu, yShape, DType.BF16);
        var yFloat = Tensor.Zeros(Cpu, yShape);
        Cpu.PointwiseForwardBf16(x, w, y, yFloat, spec);
        Assert.Equal(expected.ToFloatArray(), yFloat.ToFloatArray());
        Assert.Equal(expected.ToFloatArray(), y.ToFloatArray()); // |sums| <= 3·3·Kg <= 90 < 2^8: integers exact in bf16 too
    }

    [Theory]
    [InlineData(1, 5, 7, 12, 1, 0, 0)]
    [InlineData(3, 5, 12, 18, 3, 3, 6)]
    [InlineData(2, 1, 20, 30, 2, 2, 15)]
    [InlineData(1, 5, 9, 6, 3, 0, 2)]
    public void DataGradient_OfSmallIntegers_MatchesTheFp32OpExactly(int n, int hw, int cin, int cout, int groups, int inShuffle, int outShuffle)
    {
        var spec = new PointwiseSpec(groups, inShuffle, outShuffle);
        var random = new Random(cin * 100 + cout + 1);
        Shape xShape = [n, hw, hw, cin], yShape = [n, hw, hw, cout];
        float[] dys = Enumerable.Range(0, (int)yShape.Count).Select(_ => (float)random.Next(-3, 4)).ToArray();
        float[] ws = Enumerable.Range(0, cout * (cin / groups)).Select(_ => (float)random.Next(-3, 4)).ToArray();
        float[] start = Enumerable.Range(0, (int)xShape.Count).Select(_ => (float)random.Next(-3, 4)).ToArray();
        var w = Tensor.FromArray(Cpu, ws, [cout, cin / groups]);
        var expected = Tensor.FromArray(Cpu, start, xShape); // the fp32 op accumulates
        Cpu.PointwiseBackward(Tensor.Zeros(Cpu, xShape), w, Tensor.FromArray(Cpu, dys, yShape), expected, null, spec);

        var dy = Bf16(dys, yShape);
        var dx = Bf16(start, xShape);
        var dxFloat = Tensor.FromArray(Cpu, start, xShape);
        Cpu.PointwiseBackwardDataBf16(dy, w, dx, dxFloat, spec, accumulate: true);
        Assert.Equal(expected.ToFloatArray(), dxFloat.ToFloatArray());
        Assert.Equal(expected.ToFloatArray(), dx.ToFloatArray()); // |sums| <= 3 + 3·3·Ng <= 138 < 2^8: integers exact in bf16 too

        var overwritten = Tensor.Zeros(Cpu, xShape);
        Cpu.Fill(overwritten, 77);
        Cpu.PointwiseBackwardDataBf16(dy, w, null, overwritten, spec, accumulate: false);
        var fresh = Tensor.Zeros(Cpu, xShape);
        Cpu.PointwiseBackward(Tensor.Zeros(Cpu, xShape), w, Tensor.FromArray(Cpu, dys, yShape), fresh, null, spec);
        Assert.Equal(fresh.ToFloatArray(), overwritten.ToFloatArray());
    }

    [Theory]
    [InlineData(1, 5, 7, 12, 1, 0, 0)]
    [InlineData(3, 5, 12, 18, 3, 3, 6)]
    [InlineData(2, 1, 20, 30, 2, 2, 15)]
    [InlineData(1, 5, 9, 6, 3, 0, 2)]
    public void WeightGradient_OfSmallIntegers_MatchesTheFp32OpExactly(int n, int hw, int cin, int cout, int groups, int inShuffle, int outShuffle)
    {
        var spec = new PointwiseSpec(groups, inShuffle, outShuffle);
        var random = new Random(cin * 100 + cout + 2);
        Shape xShape = [n, hw, hw, cin], yShape = [n, hw, hw, cout], wShape = [cout, cin / groups];
        float[] xs = Enumerable.Range(0, (int)xShape.Count).Select(_ => (float)random.Next(-3, 4)).ToArray();
        float[] dys = Enumerable.Range(0, (int)yShape.Count).Select(_ => (float)random.Next(-3, 4)).ToArray();
        float[] start = Enumerable.Range(0, (int)wShape.Count).Select(_ => (float)random.Next(-3, 4)).ToArray();
        var expected = Tensor.FromArray(Cpu, start, wShape);
        Cpu.PointwiseBackward(Tensor.FromArray(Cpu, xs, xShape), Tensor.Zeros(Cpu, wShape), Tensor.FromArray(Cpu, dys, yShape), null, expected, spec);
        var dw = Tensor.FromArray(Cpu, start, wShape);
        Cpu.PointwiseBackwardWeightBf16(Bf16(xs, xShape), Bf16(dys, yShape), dw, spec);
        Assert.Equal(expected.ToFloatArray(), dw.ToFloatArray()); // fp32 output: integer sums below 2^24 are exact
    }

    [Fact]
    public void Weights_AreRoundedToBf16_AndTheOutputOnceFromTheFloatSum()
    {
        // w = 1 + 2⁻⁸ is a tie between the bf16 values 1 and 1 + 2⁻⁷: it rounds to 1 (even), so
        // y = x exactly, where fp32 would give x·(1 + 2⁻⁸).
        var x = Bf16([3f, -5f], [1, 2]);
        var w = Tensor.FromArray(Cpu, [1f + 1f / 256, 0f, 0f, 1f + 3f / 256], [2, 2]); // the second ties up to 1 + 2⁻⁶
        var yFloat = Tensor.Zeros(Cpu, [1, 2]);
        Cpu.PointwiseForwardBf16(x, w, null, yFloat, new PointwiseSpec(1));
        Assert.Equal([3f, -5f * (1f + 4f / 256)], yFloat.ToFloatArray());

        // 1 + 1 + 2⁻⁸ summed is 2 + 2⁻⁸, exact in float; in bf16 it is below half an ulp (2⁻⁷ at 2) past 2: 2.
        var x2 = Bf16([1f, 1f, 1f / 256], [1, 3]);
        var ones = Tensor.FromArray(Cpu, [1f, 1f, 1f], [1, 3]);
        var y = Tensor.Zeros(Cpu, [1, 1], DType.BF16);
        var yf = Tensor.Zeros(Cpu, [1, 1]);
        Cpu.PointwiseForwardBf16(x2, ones, y, yf, new PointwiseSpec(1));
        Assert.Equal(2f + 1f / 256, yf.ToFloatArray()[0]);
        Assert.Equal(2f, y.ToFloatArray()[0]);
    }

    [Fact]
    public void Arguments_AreChecked_WithMessagesSayingWhatToPass()
    {
        var x = Tensor.Zeros(Cpu, [2, 4], DType.BF16);
        var w = Tensor.Zeros(Cpu, [3, 4]);
        var y = Tensor.Zeros(Cpu, [2, 3], DType.BF16);
        var spec = new PointwiseSpec(1);
        Assert.Contains("x must be BF16", Assert.Throws<ArgumentException>(() => Cpu.PointwiseForwardBf16(Tensor.Zeros(Cpu, [2, 4]), w, y, null, spec)).Message);
        Assert.Contains("w must be F32", Assert.Throws<ArgumentException>(() => Cpu.PointwiseForwardBf16(x, x, y, null, spec)).Message);
        Assert.Contains("no output given", Assert.Throws<ArgumentException>(() => Cpu.PointwiseForwardBf16(x, w, null, null, spec)).Message);
        Assert.Contains("y must be BF16", Assert.Throws<ArgumentException>(() => Cpu.PointwiseForwardBf16(x, w, Tensor.Zeros(Cpu, [2, 3]), null, spec)).Message);
        Assert.Contains("must have one shape", Assert.Throws<ArgumentException>(() => Cpu.PointwiseForwardBf16(x, w, y, Tensor.Zeros(Cpu, [3, 2]), spec)).Message);
        Assert.Contains("must hold 2 rows of 3", Assert.Throws<ArgumentException>(() => Cpu.PointwiseForwardBf16(x, w, Tensor.Zeros(Cpu, [2, 2], DType.BF16), null, spec)).Message);
        Assert.Contains("output shuffle 2 must divide", Assert.Throws<ArgumentException>(() => Cpu.PointwiseForwardBf16(x, w, y, null, new PointwiseSpec(1, 0, 2))).Message);
    }

    [Fact]
    public void Bf16Tensors_AreStorage_TheFp32OpsRefuseThem()
    {
        var x = Tensor.Zeros(Cpu, [2, 4], DType.BF16);
        Assert.Equal(2, DType.BF16.SizeInBytes());
        Assert.False(DType.BF16.IsFloating());
        Assert.Throws<ArgumentException>(() => Cpu.PointwiseForward(x, Tensor.Zeros(Cpu, [3, 4]), Tensor.Zeros(Cpu, [2, 3]), new PointwiseSpec(1)));
        Cpu.Fill(x, 1.5);
        Assert.Equal(Enumerable.Repeat(1.5, 8), x.ToDoubleArray());
    }

    private static Tensor Bf16(float[] values, Shape shape)
    {
        var bits = new ushort[values.Length];
        BFloat16.FromSingle(values, bits);
        var t = Tensor.Empty(Cpu, shape, DType.BF16);
        Cpu.Upload<ushort>(bits, t);
        return t;
    }
}
