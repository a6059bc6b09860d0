using Igcv3.Engine;
using Igcv3.Kernels.Cuda;
using Xunit;
using static Igcv3.Tests.Kernels.Parity.Parity;

namespace Igcv3.Tests.Kernels.Parity;

/// <summary>pointwise.cu against the CPU reference: grouped 1x1 convolutions with fused input and
/// output permutations, every tile variant (dimensions ≤ 16, ≤ 32, &gt; 32), odd channel counts (the
/// scalar load paths) and multiples of 4 (the float4 paths); and the explicit channel shuffle.
/// Forward and data gradient reduce over Kg or Ng ≤ 100 terms (Typical); the weight gradient over
/// all M = N·H·W rows (LongReduction).</summary>
public abstract class PointwiseParityTests(DeviceFixture fixture)
{
    [Collection(CudaCollection.Name), Trait("device", "gpu")]
    public sealed class OnGpu(CudaFixture fixture) : PointwiseParityTests(fixture);

    [Collection(EmulatedCollection.Name), Trait("device", "emulated")]
    public sealed class OnEmulatedDevice(EmulatedFixture fixture) : PointwiseParityTests(fixture);

    public static TheoryData<int, int, int, int, int, int, int, int> Cases() => new()
    {
        // N, H, W, Cin, Cout, groups, inShuffle, outShuffle
        { 1, 1, 1, 3, 5, 1, 0, 0 },
        { 2, 5, 5, 33, 100, 1, 0, 0 },
        { 3, 5, 5, 12, 18, 3, 3, 6 },
        { 2, 3, 3, 20, 30, 2, 2, 15 },
        { 1, 7, 9, 64, 96, 2, 2, 0 },
        { 2, 4, 4, 100, 5, 5, 4, 0 },
        { 3, 8, 8, 128, 256, 1, 0, 0 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ForwardAndBackward(int n, int h, int w, int cin, int cout, int groups, int inShuffle, int outShuffle) =>
        With(PointwiseGemm.Tiled, gpu => Check(gpu, n, h, w, cin, cout, groups, inShuffle, outShuffle));

    /// <summary>The cuBLAS variant that gpu-report times against the tiled kernels: same contract.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void ForwardAndBackward_ThroughCublas(int n, int h, int w, int cin, int cout, int groups, int inShuffle, int outShuffle) =>
        With(PointwiseGemm.Cublas, gpu => Check(gpu, n, h, w, cin, cout, groups, inShuffle, outShuffle));

    /// <summary>Auto, the default: the first round times both ways on scratch outputs, the second
    /// reuses the decision. Gradients start non-zero, so a trial that leaked into the caller's dx
    /// or dw (accumulated twice) fails; every pass of the geometry has a decision afterwards.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void ForwardAndBackward_AutoTuned(int n, int h, int w, int cin, int cout, int groups, int inShuffle, int outShuffle) =>
        With(PointwiseGemm.Auto, gpu =>
        {
            Check(gpu, n, h, w, cin, cout, groups, inShuffle, outShuffle);
            int decisions = gpu.PointwiseChoices.Count;
            Check(gpu, n, h, w, cin, cout, groups, inShuffle, outShuffle);
            Assert.Equal(decisions, gpu.PointwiseChoices.Count);
            var mine = gpu.PointwiseChoices.Where(c => (c.Rows, c.InChannels, c.OutChannels, c.Groups, c.InputShuffle, c.OutputShuffle) == (n * h * w, cin, cout, groups, inShuffle, outShuffle)).ToList();
            Assert.Equal(["backward dw", "backward dx+dw", "forward"], mine.Select(c => c.Pass).Order());
            Assert.All(mine, c => Assert.True(c.TiledMs > 0 && c.CublasMs > 0, c.ToString()));
        });

    private void With(PointwiseGemm how, Action<CudaBackend> check)
    {
        var gpu = fixture.BackendOrSkip();
        var before = gpu.PointwiseGemm;
        gpu.PointwiseGemm = how;
        try
        {
            check(gpu);
        }
        finally
        {
            gpu.PointwiseGemm = before;
        }
    }

    private static void Check(CudaBackend gpu, int n, int h, int w, int cin, int cout, int groups, int inShuffle, int outShuffle)
    {
        var spec = new PointwiseSpec(groups, inShuffle, outShuffle);
        string name = $"pointwise ({gpu.PointwiseGemm}) [{n},{h},{w},{cin}]→{cout} g{groups} in{inShuffle} out{outShuffle}";
        var x = Random(gpu, [n, h, w, cin], 1);
        var wt = Random(gpu, [cout, cin / groups], 2);
        var y = Poisoned(gpu, [n, h, w, cout]);
        Cpu.PointwiseForward(x.Cpu, wt.Cpu, y.Cpu, spec);
        gpu.PointwiseForward(x.Gpu, wt.Gpu, y.Gpu, spec);
        AssertClose(name + " y", y.Cpu, y.Gpu, Typical);

        var dy = Random(gpu, [n, h, w, cout], 3);
        var dx = Prefilled(gpu, [n, h, w, cin], 4);
        var dw = Prefilled(gpu, [cout, cin / groups], 5);
        Cpu.PointwiseBackward(x.Cpu, wt.Cpu, dy.Cpu, dx.Cpu, dw.Cpu, spec);
        gpu.PointwiseBackward(x.Gpu, wt.Gpu, dy.Gpu, dx.Gpu, dw.Gpu, spec);
        AssertClose(name + " dx", dx.Cpu, dx.Gpu, Typical);
        AssertClose(name + " dw", dw.Cpu, dw.Gpu, LongReduction);

        // Only one gradient wanted: the other is skipped, and the wanted one is unchanged in kind.
        var dwOnly = Prefilled(gpu, [cout, cin / groups], 6);
        Cpu.PointwiseBackward(x.Cpu, wt.Cpu, dy.Cpu, null, dwOnly.Cpu, spec);
        gpu.PointwiseBackward(x.Gpu, wt.Gpu, dy.Gpu, null, dwOnly.Gpu, spec);
        AssertClose(name + " dw alone", dwOnly.Cpu, dwOnly.Gpu, LongReduction);
    }

    /// <summary>The forward that also accumulates its output's batch statistics in the epilogue (for
    /// the training-mode batch norm after it) against the CPU, which computes them in a pass of its
    /// own with the batch norm's two-pass double code: y, the saved mean and 1/√(σ² + ε), and the
    /// running statistics, for every case with the 2 rows a batch variance needs. The outputs get a
    /// mean of about 2, so a variance lost to E[x²] − E[x]² cancellation would show.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void Forward_WithBatchStatistics(int n, int h, int w, int cin, int cout, int groups, int inShuffle, int outShuffle) =>
        With(PointwiseGemm.Tiled, gpu =>
        {
            if (n * h * w < 2) return; // no batch variance of one row (the batch norm rejects it)
            var spec = new PointwiseSpec(groups, inShuffle, outShuffle);
            string name = $"pointwise+statistics [{n},{h},{w},{cin}]→{cout} g{groups} in{inShuffle} out{outShuffle}";
            var x = Random(gpu, [n, h, w, cin], 11, 0.5, 1.5); // all positive: outputs far from zero mean
            var wt = Random(gpu, [cout, cin / groups], 12, 0.0, 1.0);
            var y = Poisoned(gpu, [n, h, w, cout]);
            var runMean = Random(gpu, [cout], 13);
            var runVar = Random(gpu, [cout], 14, 0.5, 2);
            var cpuStats = new BatchStatistics(runMean.Cpu, runVar.Cpu, 0.1, 1e-5);
            var gpuStats = new BatchStatistics(runMean.Gpu, runVar.Gpu, 0.1, 1e-5);
            Cpu.PointwiseForward(x.Cpu, wt.Cpu, y.Cpu, spec, cpuStats);
            gpu.PointwiseForward(x.Gpu, wt.Gpu, y.Gpu, spec, gpuStats);
            AssertClose(name + " y", y.Cpu, y.Gpu, Typical);
            AssertBatchStatistics(name, cpuStats, gpuStats, runMean, runVar);
        });

    [Theory]
    [InlineData(12, 3)]
    [InlineData(5, 5)]
    [InlineData(33, 3)]
    [InlineData(100, 4)]
    [InlineData(7, 0)]
    public void ChannelShuffle_ForwardAndBackward(int channels, int groups)
    {
        var gpu = fixture.BackendOrSkip();
        var x = Random(gpu, [3, 2, 2, channels], 7);
        var y = Poisoned(gpu, [3, 2, 2, channels]);
        Cpu.ChannelShuffleForward(x.Cpu, y.Cpu, groups);
        gpu.ChannelShuffleForward(x.Gpu, y.Gpu, groups);
        AssertClose($"shuffle C{channels} G{groups}", y.Cpu, y.Gpu, Exact);

        var dx = Prefilled(gpu, [3, 2, 2, channels], 8);
        Cpu.ChannelShuffleBackward(y.Cpu, dx.Cpu, groups);
        gpu.ChannelShuffleBackward(y.Gpu, dx.Gpu, groups);
        AssertClose($"shuffle backward C{channels} G{groups}", dx.Cpu, dx.Gpu, Exact);
    }
}
