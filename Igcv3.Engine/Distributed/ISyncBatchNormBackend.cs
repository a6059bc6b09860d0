namespace Igcv3.Engine.Distributed;

/// <summary>
/// The three per-channel steps of <see cref="SyncBatchNorm"/> that are not a batch norm of the
/// backend's own, on its tensors, so that the statistics and gradient sums stay on the device and
/// go through the communicator as device buffers (syncbn.cu on the CUDA backend; the CPU backend
/// computes the same in double). W ranks, C channels; gathered [W, 1 + 2C], row r = (M_r, μ_r[C],
/// σ²_r[C]) with σ² the biased variance.
/// </summary>
public interface ISyncBatchNormBackend
{
    /// <summary>Row <paramref name="rank"/> of <paramref name="gathered"/> ← (<paramref name="rows"/>,
    /// mean, 1/invStd² − ε): this rank's statistics from its training-mode batch norm.</summary>
    void SyncBatchNormPack(Tensor mean, Tensor invStd, long rows, double epsilon, Tensor gathered, int rank);

    /// <summary>mean, variance [C] ← Chan's combination of the summed rows (M = Σ M_r,
    /// μ = Σ M_r μ_r / M, σ² = Σ M_r (σ²_r + (μ_r − μ)²) / M), ranks in order, in double; the
    /// running statistics ← (1 − m)·running + m·(μ, σ²·M/(M − 1)).</summary>
    void SyncBatchNormCombine(Tensor gathered, double momentum, Tensor runningMean, Tensor runningVar, Tensor mean, Tensor variance);

    /// <summary>slope, shift [C] ← −γ·invStd·(Σĝx̂, Σĝ)/M from <paramref name="sums"/> [2C] = (Σĝ, Σĝx̂)
    /// summed over the ranks, M from <paramref name="gathered"/>.</summary>
    void SyncBatchNormCorrection(Tensor sums, Tensor gamma, Tensor invStd, Tensor gathered, Tensor slope, Tensor shift);
}
