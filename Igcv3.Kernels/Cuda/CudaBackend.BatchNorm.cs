using Igcv3.Engine;

namespace Igcv3.Kernels.Cuda;

// batchnorm.cu: statistics over the M = count/C rows of x [M, C], per channel, with a fused
// activation. Training forward: stats (finalized in its last block) → apply; eval forward:
// eval_stats → apply. Backward: stats when any of dgamma, dbeta, training dx is wanted, then data.
public sealed partial class CudaBackend
{
    private (int M, int C) CheckBatchNorm(Tensor x, Tensor y, params ReadOnlySpan<Tensor> perChannel)
    {
        const string op = "batch_norm (cuda)";
        if (x.Shape.Rank < 2 || x.Shape != y.Shape) throw new ArgumentException($"{op}: x {x.Shape} and y {y.Shape} must be one shape [.., C]");
        int channels = x.Shape[-1];
        if (channels <= 0) throw new ArgumentException($"{op}: x {x.Shape} has no channels");
        foreach (var t in perChannel)
        {
            if (t.Count != channels) throw new ArgumentException($"{op}: {t} must hold one value per channel ({channels})");
        }
        CheckedCount(op, x.Count, "x");
        return ((int)(x.Count / channels), channels);
    }

    /// <summary>Splits of the row reductions: about 4 blocks per SM, no split under 64 rows.</summary>
    private int BatchNormSplits(int rows, int channels) =>
        (int)Math.Clamp(GemmTiles.CeilDiv(4L * Multiprocessors, GemmTiles.CeilDiv(channels, 32)), 1, Math.Min(65535, Math.Max(1, GemmTiles.CeilDiv(rows, 64))));

    /// <summary>y = act(γ·(x − μ)·invstd + β); training also writes the batch statistics and updates the running ones.</summary>
    public void BatchNormForward(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        Tensor y, Tensor saveMean, Tensor saveInvStd, BatchNormSpec spec)
    {
        Enter();
        var (m, c) = CheckBatchNorm(x, y, gamma, beta, runningMean, runningVar, saveMean, saveInvStd);
        if (m == 0) return;
        var channelGrid = new Dim3((uint)GemmTiles.CeilDiv(c, BlockThreads));
        if (spec.Training)
        {
            // The unbiased running variance divides by M − 1 (the op front-end rejects M < 2).
            if (m < 2) throw new ArgumentException($"batch_norm (cuda): training needs at least 2 values per channel, x {x.Shape} has {m}");
            int splits = BatchNormSplits(m, c);
            using var partial = Scratch("batch_norm", 3L * splits * c, sizeof(double)); // partial [splits, 3, C] doubles
            Launch(CudaKernels.BatchNormForwardStats, new Dim3((uint)GemmTiles.CeilDiv(c, 32), (uint)splits), F32(x), partial.Pointer, Tickets(1),
                m, c, (float)spec.Momentum, (float)spec.Epsilon, F32(runningMean), F32(runningVar), F32(saveMean), F32(saveInvStd));
        }
        else
        {
            Launch(CudaKernels.BatchNormEvalStats, channelGrid, F32(runningMean), F32(runningVar), F32(saveMean), F32(saveInvStd), c, (float)spec.Epsilon);
        }
        // grid = min(ceil(M·C / 1024), 65535), grid-stride.
        Launch(CudaKernels.BatchNormForwardApply, new Dim3(GemmTiles.StrideGrid((long)m * c, 1024, 65535)),
            F32(x), F32(gamma), F32(beta), F32(saveMean), F32(saveInvStd), F32(y), m, c, ActivationCode(spec.Activation), DevicePointer.Null);
    }

    /// <summary>y = act(γ·(x − mean)·invStd + β) (+ residual) with a producer's statistics: the apply kernel alone.</summary>
    public void BatchNormApply(Tensor x, Tensor gamma, Tensor beta, Tensor mean, Tensor invStd, Tensor y, Activation activation, Tensor? residual = null)
    {
        Enter();
        var (m, c) = CheckBatchNorm(x, y, gamma, beta, mean, invStd);
        if (residual is not null && residual.Shape != x.Shape) throw new ArgumentException($"batch_norm apply (cuda): the residual {residual.Shape} must match x {x.Shape}");
        if (m == 0) return;
        Launch(CudaKernels.BatchNormForwardApply, new Dim3(GemmTiles.StrideGrid((long)m * c, 1024, 65535)),
            F32(x), F32(gamma), F32(beta), F32(mean), F32(invStd), F32(y), m, c, ActivationCode(activation), F32OrNull(residual));
    }

    /// <summary>dβ += Σĝ, dγ += Σĝ·x̂, dx += γ·invstd·(ĝ − Σĝ/M − x̂·Σĝx̂/M) (training) or γ·invstd·ĝ (eval).</summary>
    public void BatchNormBackward(Tensor x, Tensor gamma, Tensor beta, Tensor saveMean, Tensor saveInvStd, Tensor dy,
        Tensor? dx, Tensor? dgamma, Tensor? dbeta, BatchNormSpec spec)
    {
        Enter();
        var (m, c) = CheckBatchNorm(x, dy, gamma, beta, saveMean, saveInvStd);
        if (dy.Shape != x.Shape || (dx is not null && dx.Shape != x.Shape)) throw new ArgumentException($"batch_norm backward (cuda): dy and dx must match x {x.Shape}");
        if ((dgamma is not null && dgamma.Count != c) || (dbeta is not null && dbeta.Count != c)) throw new ArgumentException($"batch_norm backward (cuda): dgamma and dbeta must hold {c} values");
        ZeroUnwritten(dgamma, dbeta); // the stats kernel's last block accumulates into them (and with no rows, nothing does)
        if (m == 0) return;
        int act = ActivationCode(spec.Activation);
        bool training = spec.Training;
        bool dataNeedsSums = dx is not null && training;
        using var sums = Scratch("batch_norm backward", dataNeedsSums ? 2L * c : 0, sizeof(float)); // sums [2, C]: Σĝ, Σĝ·x̂
        if (dgamma is not null || dbeta is not null || dataNeedsSums)
        {
            int splits = BatchNormSplits(m, c);
            using var partial = Scratch("batch_norm backward", 2L * splits * c, sizeof(double)); // partial [splits, 2, C] doubles
            Launch(CudaKernels.BatchNormBackwardStats, new Dim3((uint)GemmTiles.CeilDiv(c, 32), (uint)splits),
                F32(x), F32(gamma), F32(beta), F32(dy), F32(saveMean), F32(saveInvStd), partial.Pointer, Tickets(1), m, c, act,
                F32OrNull(dgamma), F32OrNull(dbeta), sums.Pointer);
        }
        if (dx is not null)
        {
            Launch(CudaKernels.BatchNormBackwardData, new Dim3(GemmTiles.StrideGrid((long)m * c, 1024, 65535)),
                F32(x), F32(gamma), F32(beta), F32(dy), F32(saveMean), F32(saveInvStd), sums.Pointer, F32(dx), m, c, act, training ? 1 : 0, AccumulateFlag(dx));
        }
    }
}
