using Igcv3.Engine;
using Igcv3.Engine.Cpu;
using Igcv3.Kernels.Cuda;
using Xunit;
using static Igcv3.Tests.Kernels.Parity.Parity;

namespace Igcv3.Tests.Kernels.Parity;

/// <summary>pointwise_bf16.cu (the bf16 tensor-core 1x1 convolution: forward, data and weight gradients)
/// against its CPU reference (<see cref="CpuBackend.PointwiseForwardBf16"/>,
/// <see cref="CpuBackend.PointwiseBackwardDataBf16"/>, <see cref="CpuBackend.PointwiseBackwardWeightBf16"/>),
/// which rounds at the same points: the fp32
/// output within fp32 accumulation error (Typical), the bf16 output the kernel's own fp32 output
/// rounded bit for bit, and within half a bf16 ulp (plus that accumulation error) of the
/// reference's. Then against the plain fp32 reference on the unrounded inputs, within the stated
/// bf16 tolerance <see cref="Bf16Tolerance"/>. Odd channel counts (the gathered scalar loads),
/// multiples of 8 (the 16-byte loads), rows and columns that are not multiples of the 128-row and
/// 16/32/64-column tiles, K not a multiple of 32, groups, and both permutations on and off.</summary>
public abstract class PointwiseBf16ParityTests(DeviceFixture fixture)
{
    [Collection(CudaCollection.Name), Trait("device", "gpu")]
    public sealed class OnGpu(CudaFixture fixture) : PointwiseBf16ParityTests(fixture);

    [Collection(EmulatedCollection.Name), Trait("device", "emulated")]
    public sealed class OnEmulatedDevice(EmulatedFixture fixture) : PointwiseBf16ParityTests(fixture);

    /// <summary>x, w and y are each rounded once to bf16's 8 significant bits (relative error at
    /// most 2⁻⁹ each). For sums of random-sign terms the normwise effect of the input roundings is
    /// about √(2/3)·2⁻⁹ and of the output's 2⁻⁹/√3, together about 3e-3; allowed 2⁻⁷ = 7.8e-3.</summary>
    public const double Bf16Tolerance = 1.0 / 128;

    public static TheoryData<int, int, int, int, int, int, int, int> Cases() => new()
    {
        // N, H, W, Cin, Cout, groups, inShuffle, outShuffle
        { 1, 1, 1, 3, 5, 1, 0, 0 },        // tiny: one partial tile everywhere
        { 2, 5, 5, 33, 100, 1, 0, 0 },     // odd Cin (scalar loads), Ng > 64: two column tiles
        { 3, 5, 5, 12, 18, 3, 3, 6 },      // groups with both permutations
        { 2, 3, 3, 20, 30, 2, 2, 15 },
        { 1, 7, 9, 64, 96, 2, 2, 0 },      // input permutation only (gathered despite Cin % 8 == 0)
        { 2, 4, 4, 100, 5, 5, 4, 0 },      // Kg = 20: a partial K stage
        { 3, 8, 8, 128, 256, 1, 0, 0 },    // 192 rows: two row tiles; 16-byte loads; Ng = 256
        { 2, 9, 9, 48, 24, 2, 0, 3 },      // output permutation only; Ng = 12 (the 16-wide tile)
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Forward_MatchesTheBf16Reference(int n, int h, int w, int cin, int cout, int groups, int inShuffle, int outShuffle)
    {
        var gpu = fixture.BackendOrSkip();
        var cpu = CpuBackend.Instance;
        var spec = new PointwiseSpec(groups, inShuffle, outShuffle);
        string name = $"pointwise bf16 [{n},{h},{w},{cin}]→{cout} g{groups} in{inShuffle} out{outShuffle}";
        Shape xShape = [n, h, w, cin], yShape = [n, h, w, cout];
        var (xCpu, xGpu, _) = Bf16Input(gpu, xShape, 1);
        var wt = Random(gpu, [cout, cin / groups], 2);

        var yCpu = Tensor.Zeros(cpu, yShape, DType.BF16);
        var yfCpu = Tensor.Zeros(cpu, yShape);
        cpu.PointwiseForwardBf16(xCpu, wt.Cpu, yCpu, yfCpu, spec);
        var yGpu = PoisonedBf16(gpu, yShape);
        var yfGpu = Poisoned(gpu, yShape).Gpu;
        gpu.PointwiseForwardBf16(xGpu, wt.Gpu, yGpu, yfGpu, spec);

        AssertClose(name + " yFloat", yfCpu, yfGpu, Typical);
        ushort[] bits = Bits(yGpu);
        float[] sums = yfGpu.ToFloatArray(), reference = yfCpu.ToFloatArray();
        double scale = Math.Sqrt(reference.Sum(v => (double)v * v) / Math.Max(1, reference.Length));
        for (int i = 0; i < bits.Length; i++)
        {
            Assert.True(bits[i] == BFloat16.FromSingle(sums[i]), $"{name}: y[{i}] = 0x{bits[i]:X4} is not the kernel's own fp32 {sums[i]:G9} rounded (0x{BFloat16.FromSingle(sums[i]):X4})");
            double allowed = HalfUlp(reference[i]) + Typical * scale;
            double error = Math.Abs(BFloat16.ToSingle(bits[i]) - (double)reference[i]);
            Assert.True(error <= allowed, $"{name}: y[{i}] = {BFloat16.ToSingle(bits[i]):G9}, reference {reference[i]:G9}: off by {error:G3} > {allowed:G3}");
        }

        // Either output alone: the same values as both together.
        var yAlone = PoisonedBf16(gpu, yShape);
        gpu.PointwiseForwardBf16(xGpu, wt.Gpu, yAlone, null, spec);
        Assert.Equal(bits, Bits(yAlone));
        var yfAlone = Poisoned(gpu, yShape).Gpu;
        gpu.PointwiseForwardBf16(xGpu, wt.Gpu, null, yfAlone, spec);
        Assert.Equal(sums, yfAlone.ToFloatArray());
    }

    /// <summary>The bf16 result against the fp32 op on the unrounded inputs: what training in bf16
    /// gives up, bounded by <see cref="Bf16Tolerance"/>.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void Forward_StaysWithinBf16ToleranceOfFp32(int n, int h, int w, int cin, int cout, int groups, int inShuffle, int outShuffle)
    {
        var gpu = fixture.BackendOrSkip();
        var spec = new PointwiseSpec(groups, inShuffle, outShuffle);
        string name = $"pointwise bf16 vs fp32 [{n},{h},{w},{cin}]→{cout} g{groups} in{inShuffle} out{outShuffle}";
        Shape xShape = [n, h, w, cin], yShape = [n, h, w, cout];
        var (_, xGpu, xFloat) = Bf16Input(gpu, xShape, 3);
        var wt = Random(gpu, [cout, cin / groups], 4);
        var fp32 = Tensor.Zeros(Cpu, yShape);
        Cpu.PointwiseForward(xFloat, wt.Cpu, fp32, spec);
        var y = PoisonedBf16(gpu, yShape);
        gpu.PointwiseForwardBf16(xGpu, wt.Gpu, y, null, spec);
        var widened = Tensor.FromArray(Cpu, Array.ConvertAll(Bits(y), BFloat16.ToSingle), yShape);
        AssertClose(name, fp32, widened, Bf16Tolerance);
    }

    /// <summary>The data gradient, overwriting and accumulating: dxFloat within fp32 accumulation
    /// error of the reference's; dx, when overwriting, the kernel's own fp32 rounded bit for bit;
    /// when accumulating, within half a bf16 ulp (plus that error) of the old bf16 value widened
    /// plus the reference's sum.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void BackwardData_MatchesTheBf16Reference(int n, int h, int w, int cin, int cout, int groups, int inShuffle, int outShuffle)
    {
        var gpu = fixture.BackendOrSkip();
        var cpu = CpuBackend.Instance;
        var spec = new PointwiseSpec(groups, inShuffle, outShuffle);
        string name = $"pointwise bf16 dx [{n},{h},{w},{cin}]→{cout} g{groups} in{inShuffle} out{outShuffle}";
        Shape xShape = [n, h, w, cin], yShape = [n, h, w, cout];
        var (dyCpu, dyGpu, _) = Bf16Input(gpu, yShape, 5);
        var wt = Random(gpu, [cout, cin / groups], 6);

        // Overwriting: both outputs poisoned on the device.
        var sumCpu = Tensor.Zeros(cpu, xShape);
        cpu.PointwiseBackwardDataBf16(dyCpu, wt.Cpu, null, sumCpu, spec, accumulate: false);
        var dx = PoisonedBf16(gpu, xShape);
        var dxf = Poisoned(gpu, xShape).Gpu;
        gpu.PointwiseBackwardDataBf16(dyGpu, wt.Gpu, dx, dxf, spec, accumulate: false);
        AssertClose(name + " dxFloat =", sumCpu, dxf, Typical);
        float[] sums = dxf.ToFloatArray(), reference = sumCpu.ToFloatArray();
        ushort[] bits = Bits(dx);
        for (int i = 0; i < bits.Length; i++)
            Assert.True(bits[i] == BFloat16.FromSingle(sums[i]), $"{name}: dx[{i}] = 0x{bits[i]:X4} is not the kernel's own fp32 {sums[i]:G9} rounded");

        // Accumulating: dx and dxFloat start from the same random values on both sides.
        var (oldCpu, oldGpu, _) = Bf16Input(gpu, xShape, 7);
        ushort[] old = Bits(oldCpu);
        var oldFloat = Prefilled(gpu, xShape, 8);
        gpu.PointwiseBackwardDataBf16(dyGpu, wt.Gpu, oldGpu, oldFloat.Gpu, spec, accumulate: true);
        cpu.PointwiseBackwardDataBf16(dyCpu, wt.Cpu, oldCpu, oldFloat.Cpu, spec, accumulate: true);
        AssertClose(name + " dxFloat +=", oldFloat.Cpu, oldFloat.Gpu, Typical);
        ushort[] added = Bits(oldGpu);
        double scale = Math.Sqrt(reference.Sum(v => (double)v * v) / Math.Max(1, reference.Length));
        for (int i = 0; i < added.Length; i++)
        {
            double exact = BFloat16.ToSingle(old[i]) + (double)reference[i];
            double error = Math.Abs(BFloat16.ToSingle(added[i]) - exact), allowed = HalfUlp((float)exact) + Typical * scale;
            Assert.True(error <= allowed, $"{name}: dx[{i}] += gave {BFloat16.ToSingle(added[i]):G9}, want {exact:G9}: off by {error:G3} > {allowed:G3}");
        }
    }

    /// <summary>The bf16 data gradient against the fp32 op's on the unrounded dy, within <see cref="Bf16Tolerance"/>.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void BackwardData_StaysWithinBf16ToleranceOfFp32(int n, int h, int w, int cin, int cout, int groups, int inShuffle, int outShuffle)
    {
        var gpu = fixture.BackendOrSkip();
        var spec = new PointwiseSpec(groups, inShuffle, outShuffle);
        string name = $"pointwise bf16 dx vs fp32 [{n},{h},{w},{cin}]→{cout} g{groups} in{inShuffle} out{outShuffle}";
        Shape xShape = [n, h, w, cin], yShape = [n, h, w, cout];
        var (_, dyGpu, dyFloat) = Bf16Input(gpu, yShape, 9);
        var wt = Random(gpu, [cout, cin / groups], 10);
        var fp32 = Tensor.Zeros(Cpu, xShape);
        Cpu.PointwiseBackward(Tensor.Zeros(Cpu, xShape), wt.Cpu, dyFloat, fp32, null, spec);
        var dx = PoisonedBf16(gpu, xShape);
        gpu.PointwiseBackwardDataBf16(dyGpu, wt.Gpu, dx, null, spec, accumulate: false);
        var widened = Tensor.FromArray(Cpu, Array.ConvertAll(Bits(dx), BFloat16.ToSingle), xShape);
        AssertClose(name, fp32, widened, Bf16Tolerance);
    }

    /// <summary>The weight gradient (fp32, accumulated into a prefilled dw, and into an unwritten one,
    /// NaN-filled, which must be overwritten): within the long-reduction tolerance of the reference's
    /// double sums over all M rows, and within <see cref="Bf16Tolerance"/> of the fp32 op's on the
    /// unrounded x and dy.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void BackwardWeight_MatchesTheBf16Reference_AndStaysWithinBf16ToleranceOfFp32(int n, int h, int w, int cin, int cout, int groups, int inShuffle, int outShuffle)
    {
        var gpu = fixture.BackendOrSkip();
        var cpu = CpuBackend.Instance;
        var spec = new PointwiseSpec(groups, inShuffle, outShuffle);
        string name = $"pointwise bf16 dw [{n},{h},{w},{cin}]→{cout} g{groups} in{inShuffle} out{outShuffle}";
        Shape xShape = [n, h, w, cin], yShape = [n, h, w, cout], wShape = [cout, cin / groups];
        var (xCpu, xGpu, xFloat) = Bf16Input(gpu, xShape, 11);
        var (dyCpu, dyGpu, dyFloat) = Bf16Input(gpu, yShape, 12);

        var dw = Prefilled(gpu, wShape, 13);
        cpu.PointwiseBackwardWeightBf16(xCpu, dyCpu, dw.Cpu, spec);
        gpu.PointwiseBackwardWeightBf16(xGpu, dyGpu, dw.Gpu, spec);
        AssertClose(name + " +=", dw.Cpu, dw.Gpu, LongReduction);

        var fresh = Unwritten(gpu, wShape);
        cpu.PointwiseBackwardWeightBf16(xCpu, dyCpu, fresh.Cpu, spec);
        gpu.PointwiseBackwardWeightBf16(xGpu, dyGpu, fresh.Gpu, spec);
        AssertClose(name + " unwritten", fresh.Cpu, fresh.Gpu, LongReduction);

        var fp32 = Tensor.Zeros(Cpu, wShape);
        Cpu.PointwiseBackward(xFloat, Tensor.Zeros(Cpu, wShape), dyFloat, null, fp32, spec);
        AssertClose(name + " vs fp32", fp32, fresh.Gpu, Bf16Tolerance);
    }

    [Fact]
    public void WrongDTypes_AndNoOutput_AreRefusedNamingTheArgument()
    {
        var gpu = fixture.BackendOrSkip();
        var spec = new PointwiseSpec(1);
        var x = Tensor.Zeros(gpu, [2, 4], DType.BF16);
        var xFloat = Tensor.Zeros(gpu, [2, 4]);
        var w = Tensor.Zeros(gpu, [3, 4]);
        var y = Tensor.Zeros(gpu, [2, 3], DType.BF16);
        Assert.Contains("x must be BF16", Assert.Throws<ArgumentException>(() => gpu.PointwiseForwardBf16(xFloat, w, y, null, spec)).Message);
        Assert.Contains("no output given", Assert.Throws<ArgumentException>(() => gpu.PointwiseForwardBf16(x, w, null, null, spec)).Message);
        Assert.Contains("yFloat must be F32", Assert.Throws<ArgumentException>(() => gpu.PointwiseForwardBf16(x, w, null, y, spec)).Message);
        Assert.Contains("groups 2 must divide", Assert.Throws<ArgumentException>(() => gpu.PointwiseForwardBf16(x, w, y, null, new PointwiseSpec(2))).Message);
        Assert.Contains("dy must be BF16", Assert.Throws<ArgumentException>(() => gpu.PointwiseBackwardDataBf16(Tensor.Zeros(gpu, [2, 3]), w, x, null, spec, false)).Message);
        Assert.Contains("dw must be F32", Assert.Throws<ArgumentException>(() => gpu.PointwiseBackwardWeightBf16(x, y, Tensor.Zeros(gpu, [3, 4], DType.BF16), spec)).Message);
        Assert.Contains("dy must be BF16", Assert.Throws<ArgumentException>(() => gpu.PointwiseBackwardWeightBf16(x, Tensor.Zeros(gpu, [2, 3]), w, spec)).Message);
        Assert.Contains("pass dx (BF16), dxFloat (F32) or both", Assert.Throws<ArgumentException>(() => gpu.PointwiseBackwardDataBf16(y, w, null, null, spec, false)).Message);
    }

    /// <summary>Uniform(−1, 1) floats rounded to bf16: the BF16 tensor on the CPU and on the device,
    /// and the unrounded F32 values on the CPU.</summary>
    private static (Tensor Cpu, Tensor Gpu, Tensor Float) Bf16Input(CudaBackend gpu, Shape shape, int seed)
    {
        var floats = Tensor.RandomUniform(Cpu, shape, new System.Random(seed), -1, 1);
        var bits = new ushort[shape.Count];
        BFloat16.FromSingle(floats.ToFloatArray(), bits);
        var cpu = Tensor.Empty(Cpu, shape, DType.BF16);
        Cpu.Upload<ushort>(bits, cpu);
        var device = Tensor.Empty(gpu, shape, DType.BF16);
        gpu.Upload<ushort>(bits, device);
        return (cpu, device, floats);
    }

    /// <summary>A BF16 device output holding NaN everywhere: an element the kernel never writes
    /// fails the comparison.</summary>
    private static Tensor PoisonedBf16(CudaBackend gpu, Shape shape)
    {
        var t = Tensor.Empty(gpu, shape, DType.BF16);
        gpu.Upload<ushort>(Enumerable.Repeat((ushort)0x7FC0, (int)shape.Count).ToArray(), t);
        return t;
    }

    private static ushort[] Bits(Tensor t)
    {
        var bits = new ushort[t.Count];
        t.Backend.Download<ushort>(t, bits);
        return bits;
    }

    /// <summary>Half the spacing of bf16 values around |v|: 2^(e − 8) for v in [2^e, 2^(e+1)).</summary>
    private static double HalfUlp(float v)
    {
        if (v == 0) return 0;
        return Math.ScaleB(1.0, Math.ILogB(Math.Abs((double)v)) - 8);
    }
}
