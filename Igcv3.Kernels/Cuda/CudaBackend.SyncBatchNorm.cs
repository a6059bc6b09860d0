using Igcv3.Engine;
using Igcv3.Engine.Distributed;

namespace Igcv3.Kernels.Cuda;

// syncbn.cu: sync-BN's per-channel steps on the device, one thread per channel (and the row count).
public sealed partial class CudaBackend : ISyncBatchNormBackend
{
    public void SyncBatchNormPack(Tensor mean, Tensor invStd, long rows, double epsilon, Tensor gathered, int rank)
    {
        Enter();
        var (w, c) = CheckGathered(gathered, mean, invStd);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, w);
        Launch(CudaKernels.SyncBatchNormPack, new Dim3((uint)GemmTiles.CeilDiv(1 + c, BlockThreads)),
            F32(mean), F32(invStd), F32(gathered), c, rank, (float)rows, (float)epsilon);
    }

    public void SyncBatchNormCombine(Tensor gathered, double momentum, Tensor runningMean, Tensor runningVar, Tensor mean, Tensor variance)
    {
        Enter();
        var (w, c) = CheckGathered(gathered, runningMean, runningVar, mean, variance);
        Launch(CudaKernels.SyncBatchNormCombine, new Dim3((uint)GemmTiles.CeilDiv(c, BlockThreads)),
            F32(gathered), w, c, (float)momentum, F32(runningMean), F32(runningVar), F32(mean), F32(variance));
    }

    public void SyncBatchNormCorrection(Tensor sums, Tensor gamma, Tensor invStd, Tensor gathered, Tensor slope, Tensor shift)
    {
        Enter();
        var (w, c) = CheckGathered(gathered, gamma, invStd, slope, shift);
        if (sums.Count != 2L * c) throw new ArgumentException($"sync batch_norm (cuda): sums {sums} must hold 2·{c} values (Σĝ, Σĝx̂)");
        Launch(CudaKernels.SyncBatchNormCorrection, new Dim3((uint)GemmTiles.CeilDiv(c, BlockThreads)),
            F32(sums), F32(gamma), F32(invStd), F32(gathered), w, c, F32(slope), F32(shift));
    }

    private static (int W, int C) CheckGathered(Tensor gathered, Tensor perChannel, params ReadOnlySpan<Tensor> more)
    {
        int c = checked((int)perChannel.Count);
        if (c == 0) throw new ArgumentException("sync batch_norm (cuda): no channels");
        foreach (var t in more)
        {
            if (t.Count != c) throw new ArgumentException($"sync batch_norm (cuda): {t} must hold one value per channel ({c})");
        }
        if (gathered.Shape.Rank != 2 || gathered.Shape[1] != 1 + 2L * c) throw new ArgumentException($"sync batch_norm (cuda): gathered {gathered.Shape} must be [ranks, 1 + 2·{c}]");
        CheckedCount("sync batch_norm (cuda)", gathered.Count, "gathered");
        return (gathered.Shape[0], c);
    }
}
