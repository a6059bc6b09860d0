namespace Igcv3.Engine.Distributed;

/// <summary>
/// Batch norm in training mode with the statistics of the batch over ALL ranks (--sync-bn),
/// composed from the backend's own batch-norm methods and three per-channel steps
/// (<see cref="ISyncBatchNormBackend"/>), so that every value stays on the device and the
/// all-reduces take device buffers (on a GPU, on the communication stream: no wait for the host):
/// <list type="bullet">
/// <item>forward: each rank's per-channel mean and variance (a training-mode pass into scratch),
/// gathered in one sum all-reduce of [W, 1 + 2C] (each rank packs its own row) and combined in
/// double as Chan's parallel variance: μ = Σ Mᵣμᵣ / M, σ² = Σ Mᵣ(σᵣ² + (μᵣ − μ)²) / M, which
/// does not lose the variance to cancellation as Σx² / M − μ² would; then the normalisation is the
/// eval-mode pass with (μ, σ²) in place of the running statistics, and those are updated as
/// PyTorch's SyncBatchNorm does, with the unbiased σ²·M/(M − 1) of the global M.</item>
/// <item>backward: the eval-mode backward with the same (μ, σ²) gives dγ, dβ (this rank's sums
/// Σĝx̂, Σĝ, written into the two halves of one [2C] buffer) and γ·invstd·ĝ; the sums over all
/// ranks (one all-reduce of that buffer) give the batch statistics' share
/// −γ·invstd·(Σĝ + x̂·Σĝx̂)/M, an affine function of x per channel, computed by an eval-mode
/// forward with γ' = −γ·invstd·Σĝx̂/M and β' = −γ·invstd·Σĝ/M.</item>
/// </list>
/// dγ and dβ stay this rank's own sums: the gradient buckets average them over the ranks like
/// every other parameter, which with each rank's mean loss over its own batch gives the gradient
/// of the mean loss over all ranks' batches, as one rank with the whole batch would.
/// <para>On one communication stream these all-reduces queue behind the gradient buckets already
/// started, and the compute stream waits for them (the batch norm cannot go on without them): with
/// --sync-bn, backward overlaps less.</para>
/// </summary>
public static class SyncBatchNorm
{
    /// <summary>Makes every batch norm of <paramref name="network"/> synchronise its statistics over
    /// <paramref name="communicator"/>'s ranks (null: back to per-rank statistics).</summary>
    public static void Enable(Nn.Module network, ICommunicator? communicator)
    {
        foreach (var (_, module) in network.NamedModules())
        {
            if (module is Nn.BatchNorm bn) bn.SyncStatistics = communicator;
        }
    }

    public static Tensor Forward(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, BatchNormSpec spec, ICommunicator communicator)
    {
        var backend = x.Backend;
        var steps = backend as ISyncBatchNormBackend ?? throw new NotSupportedException($"sync batch_norm: {backend} has no sync-BN steps; use the CPU or CUDA backend");
        int channels = x.Shape[-1];
        long rows = x.Count / channels;
        // Every rank trains on a batch of the same size (the loaders drop the last, partial one), so this is M >= 2.
        if (rows * communicator.Size < 2) throw new ArgumentException($"sync batch_norm: training needs more than one value per channel over all ranks, got {rows * communicator.Size}");
        var noAct = spec with { Activation = Activation.None };

        var gathered = Tensor.Zeros(backend, [communicator.Size, 1 + 2 * channels], x.DType);
        using (GradMode.NoGrad())
        {
            // This rank's statistics: a training pass into scratch (its output and running statistics are discarded).
            var scratchMean = Copy(runningMean);
            var scratchVar = Copy(runningVar);
            var scratchY = Tensor.Empty(backend, x.Shape, x.DType);
            var mean = Tensor.Empty(backend, [channels], x.DType);
            var invStd = Tensor.Empty(backend, [channels], x.DType);
            backend.BatchNormForward(x, gamma, beta, scratchMean, scratchVar, scratchY, mean, invStd, noAct with { Training = true });
            steps.SyncBatchNormPack(mean, invStd, rows, spec.Epsilon, gathered, communicator.Rank);
            foreach (var t in new[] { scratchMean, scratchVar, scratchY, mean, invStd }) t.Storage.Dispose();
        }
        communicator.AllReduce(gathered, ReduceOp.Sum);
        var statMean = Tensor.Empty(backend, [channels], x.DType);
        var statVar = Tensor.Empty(backend, [channels], x.DType);
        steps.SyncBatchNormCombine(gathered, spec.Momentum, runningMean, runningVar, statMean, statVar);

        var eval = spec with { Training = false };
        var y = Tensor.Empty(backend, x.Shape, x.DType);
        var saveMean = Tensor.Empty(backend, [channels], x.DType);
        var saveInvStd = Tensor.Empty(backend, [channels], x.DType);
        backend.BatchNormForward(x, gamma, beta, statMean, statVar, y, saveMean, saveInvStd, eval);
        return Autograd.Record(y, "sync_batch_norm", [x, gamma, beta], dy =>
        {
            // (Σĝ, Σĝx̂): dβ and dγ are the halves of the buffer the all-reduce takes.
            var sums = Tensor.Zeros(backend, [2 * channels], x.DType);
            var dbeta = Tensor.View(sums.Storage, sums.Offset, [channels]);
            var dgamma = Tensor.View(sums.Storage, sums.Offset + channels, [channels]);
            var dxEval = x.RequiresGrad ? x.GradForWriting() : null;
            backend.BatchNormBackward(x, gamma, beta, saveMean, saveInvStd, dy, dxEval, dgamma, dbeta, eval);
            if (gamma.RequiresGrad) backend.Accumulate(dgamma, gamma.GradForWriting());
            if (beta.RequiresGrad) backend.Accumulate(dbeta, beta.GradForWriting());
            communicator.AllReduce(sums, ReduceOp.Sum);
            if (dxEval is null) return;

            var slope = Tensor.Empty(backend, [channels], x.DType);
            var shift = Tensor.Empty(backend, [channels], x.DType);
            steps.SyncBatchNormCorrection(sums, gamma, saveInvStd, gathered, slope, shift);
            var correction = Tensor.Empty(backend, x.Shape, x.DType);
            var unusedMean = Tensor.Empty(backend, [channels], x.DType);
            var unusedInvStd = Tensor.Empty(backend, [channels], x.DType);
            backend.BatchNormForward(x, slope, shift, statMean, statVar, correction, unusedMean, unusedInvStd, eval with { Activation = Activation.None });
            backend.Accumulate(correction, dxEval);
        });
    }

    private static Tensor Copy(Tensor t)
    {
        var copy = Tensor.Empty(t.Backend, t.Shape, t.DType);
        t.Backend.Copy(t, copy);
        return copy;
    }
}
