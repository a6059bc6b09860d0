using Igcv3.Engine;
using Igcv3.Engine.Distributed;
using Xunit;
using static Igcv3.Tests.Kernels.Parity.Parity;

namespace Igcv3.Tests.Kernels.Parity;

/// <summary>syncbn.cu against the CPU reference (the same formulas in double): W = 3 ranks' rows
/// packed, combined (Chan) with the running statistics updated, and the backward's correction
/// coefficients, at C = 5 (one block, most threads idle) and C = 300 (two blocks). The rows of the
/// gathered buffer carry unequal counts and means far from 0, so a pooled E[x²] − E[x]² or an
/// unweighted mean would show.</summary>
public abstract class SyncBatchNormParityTests(DeviceFixture fixture)
{
    [Collection(CudaCollection.Name), Trait("device", "gpu")]
    public sealed class OnGpu(CudaFixture fixture) : SyncBatchNormParityTests(fixture);

    [Collection(EmulatedCollection.Name), Trait("device", "emulated")]
    public sealed class OnEmulatedDevice(EmulatedFixture fixture) : SyncBatchNormParityTests(fixture);

    private const int Ranks = 3;

    private static ISyncBatchNormBackend Steps(IBackend backend) => Assert.IsAssignableFrom<ISyncBatchNormBackend>(backend);

    [Theory]
    [InlineData(5)]
    [InlineData(300)]
    public void PackCombineAndCorrection(int c)
    {
        var gpu = fixture.BackendOrSkip();
        int width = 1 + 2 * c;
        // Rank 1's row is packed below; ranks 0 and 2 hold what their own packs would have left.
        var others = new float[Ranks * width];
        var random = new Random(11);
        foreach (int r in new[] { 0, 2 })
        {
            others[r * width] = 7 + 5 * r; // 7 and 17 rows
            for (int i = 0; i < c; i++)
            {
                others[r * width + 1 + i] = (float)(3 + random.NextDouble());
                others[r * width + 1 + c + i] = (float)(0.5 + random.NextDouble());
            }
        }
        var gathered = (Cpu: Tensor.FromArray(Cpu, others, [Ranks, width]), Gpu: Tensor.FromArray(gpu, others, [Ranks, width]));
        var mean = Random(gpu, [c], 1, 2, 4);
        var invStd = Random(gpu, [c], 2, 0.5, 2);
        Steps(Cpu).SyncBatchNormPack(mean.Cpu, invStd.Cpu, 9, 1e-5, gathered.Cpu, 1);
        Steps(gpu).SyncBatchNormPack(mean.Gpu, invStd.Gpu, 9, 1e-5, gathered.Gpu, 1);
        AssertClose($"syncbn_pack C={c}", gathered.Cpu, gathered.Gpu, Typical);

        var runMean = Random(gpu, [c], 3, 2, 4);
        var runVar = Random(gpu, [c], 4, 0.5, 2);
        var statMean = Poisoned(gpu, [c]);
        var statVar = Poisoned(gpu, [c]);
        Steps(Cpu).SyncBatchNormCombine(gathered.Cpu, 0.1, runMean.Cpu, runVar.Cpu, statMean.Cpu, statVar.Cpu);
        Steps(gpu).SyncBatchNormCombine(gathered.Gpu, 0.1, runMean.Gpu, runVar.Gpu, statMean.Gpu, statVar.Gpu);
        AssertClose($"syncbn_combine C={c} mean", statMean.Cpu, statMean.Gpu, Typical);
        AssertClose($"syncbn_combine C={c} var", statVar.Cpu, statVar.Gpu, Typical);
        AssertClose($"syncbn_combine C={c} runningMean", runMean.Cpu, runMean.Gpu, Typical);
        AssertClose($"syncbn_combine C={c} runningVar", runVar.Cpu, runVar.Gpu, Typical);
        // The combination is the pooled statistics of the three ranks' rows (33 in all): check one channel by hand.
        var g = gathered.Cpu.ToFloatArray();
        double total = g[0] + g[width] + g[2 * width];
        double mu = (g[0] * g[1] + g[width] * g[width + 1] + g[2 * width] * g[2 * width + 1]) / total;
        Assert.Equal(33, total);
        Assert.Equal(mu, statMean.Gpu.ToFloatArray()[0], 1e-5);

        var sums = Random(gpu, [2 * c], 5, -2, 2);
        var gamma = Random(gpu, [c], 6, 0.5, 1.5);
        var slope = Poisoned(gpu, [c]);
        var shift = Poisoned(gpu, [c]);
        Steps(Cpu).SyncBatchNormCorrection(sums.Cpu, gamma.Cpu, invStd.Cpu, gathered.Cpu, slope.Cpu, shift.Cpu);
        Steps(gpu).SyncBatchNormCorrection(sums.Gpu, gamma.Gpu, invStd.Gpu, gathered.Gpu, slope.Gpu, shift.Gpu);
        AssertClose($"syncbn_correction C={c} slope", slope.Cpu, slope.Gpu, Typical);
        AssertClose($"syncbn_correction C={c} shift", shift.Cpu, shift.Gpu, Typical);
    }

    [Fact]
    public void MismatchedShapes_AreRefused()
    {
        var gpu = fixture.BackendOrSkip();
        var gathered = Tensor.Zeros(gpu, [2, 1 + 2 * 4]);
        var five = Tensor.Zeros(gpu, [5]);
        Assert.Contains("must be [ranks, 1 + 2·5]", Assert.Throws<ArgumentException>(() => Steps(gpu).SyncBatchNormPack(five, five, 3, 1e-5, gathered, 0)).Message);
        var four = Tensor.Zeros(gpu, [4]);
        Assert.Throws<ArgumentOutOfRangeException>(() => Steps(gpu).SyncBatchNormPack(four, four, 3, 1e-5, gathered, 2));
        Assert.Contains("must hold 2·4 values", Assert.Throws<ArgumentException>(() => Steps(gpu).SyncBatchNormCorrection(four, four, four, gathered, four, four)).Message);
    }
}
