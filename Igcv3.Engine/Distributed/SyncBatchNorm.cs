namespace Igcv3.Engine.Distributed;

/// <summary>
/// Batch norm in training mode with the statistics of the batch over ALL ranks (--sync-bn),
/// composed from the backend's own batch-norm methods, so every backend has it with no kernel of
/// its own:
/// <list type="bullet">
/// <item>forward: each rank's per-channel mean and variance (a training-mode pass into scratch),
/// gathered in one sum all-reduce of [W, 1 + 2C] (each rank fills its own row) and combined in
/// double as Chan's parallel variance: μ = Σ Mᵣμᵣ / M, σ² = Σ Mᵣ(σᵣ² + (μᵣ − μ)²) / M, which
/// does not lose the variance to cancellation as Σx² / M − μ² would; then the normalisation is the
/// eval-mode pass with (μ, σ²) in place of the running statistics, and those are updated as
/// PyTorch's SyncBatchNorm does, with the unbiased σ²·M/(M − 1) of the global M.</item>
/// <item>backward: the eval-mode backward with the same (μ, σ²) gives dγ, dβ (this rank's sums
/// Σĝx̂, Σĝ) and γ·invstd·ĝ; the sums over all ranks (one all-reduce of [2C]) give the batch
/// statistics' share −γ·invstd·(Σĝ + x̂·Σĝx̂)/M, an affine function of x per channel, computed by an
/// eval-mode forward with γ' = −γ·invstd·Σĝx̂/M and β' = −γ·invstd·Σĝ/M.</item>
/// </list>
/// dγ and dβ stay this rank's own sums: the gradient buckets average them over the ranks like
/// every other parameter, which with each rank's mean loss over its own batch gives the gradient
/// of the mean loss over all ranks' batches, as one rank with the whole batch would.
/// The [C] vectors pass through the host (a wait for the device per layer and pass).
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
        int channels = x.Shape[-1];
        long rows = x.Count / channels;
        var noAct = spec with { Activation = Activation.None };

        double[] localMean, localVar;
        using (GradMode.NoGrad())
        {
            // This rank's statistics: a training pass into scratch (its output and running statistics are discarded).
            var scratchMean = Copy(runningMean);
            var scratchVar = Copy(runningVar);
            var scratchY = Tensor.Empty(backend, x.Shape, x.DType);
            var mean = Tensor.Empty(backend, [channels], x.DType);
            var invStd = Tensor.Empty(backend, [channels], x.DType);
            backend.BatchNormForward(x, gamma, beta, scratchMean, scratchVar, scratchY, mean, invStd, noAct with { Training = true });
            localMean = mean.ToDoubleArray();
            localVar = invStd.ToDoubleArray().Select(s => 1.0 / (s * s) - spec.Epsilon).ToArray();
            foreach (var t in new[] { scratchMean, scratchVar, scratchY, mean, invStd }) t.Storage.Dispose();
        }

        int width = 1 + 2 * channels, size = communicator.Size;
        var gather = new float[size * width];
        gather[communicator.Rank * width] = rows;
        for (int c = 0; c < channels; c++)
        {
            gather[communicator.Rank * width + 1 + c] = (float)localMean[c];
            gather[communicator.Rank * width + 1 + channels + c] = (float)localVar[c];
        }
        var all = AllReduced(backend, gather, communicator);

        var globalMean = new double[channels];
        var globalVar = new double[channels];
        double total = 0;
        for (int r = 0; r < size; r++) total += all[r * width];
        for (int r = 0; r < size; r++)
        {
            for (int c = 0; c < channels; c++) globalMean[c] += all[r * width] * all[r * width + 1 + c] / total;
        }
        for (int r = 0; r < size; r++)
        {
            for (int c = 0; c < channels; c++)
            {
                double d = all[r * width + 1 + c] - globalMean[c];
                globalVar[c] += all[r * width] * (all[r * width + 1 + channels + c] + d * d) / total;
            }
        }
        if (total < 2) throw new ArgumentException($"sync batch_norm: training needs more than one value per channel over all ranks, got {total}");

        double m = spec.Momentum;
        var running = runningMean.ToDoubleArray();
        var runningV = runningVar.ToDoubleArray();
        for (int c = 0; c < channels; c++)
        {
            running[c] = (1 - m) * running[c] + m * globalMean[c];
            runningV[c] = (1 - m) * runningV[c] + m * globalVar[c] * total / (total - 1);
        }
        runningMean.UploadDoubles(running);
        runningVar.UploadDoubles(runningV);

        var statMean = Tensor.FromHostDoubles(backend, globalMean, [channels], x.DType);
        var statVar = Tensor.FromHostDoubles(backend, globalVar, [channels], x.DType);
        var eval = spec with { Training = false };
        var y = Tensor.Empty(backend, x.Shape, x.DType);
        var saveMean = Tensor.Empty(backend, [channels], x.DType);
        var saveInvStd = Tensor.Empty(backend, [channels], x.DType);
        backend.BatchNormForward(x, gamma, beta, statMean, statVar, y, saveMean, saveInvStd, eval);
        return Autograd.Record(y, "sync_batch_norm", [x, gamma, beta], dy =>
        {
            var dgamma = Tensor.Zeros(backend, [channels], x.DType);
            var dbeta = Tensor.Zeros(backend, [channels], x.DType);
            var dxEval = x.RequiresGrad ? x.GradForWriting() : null;
            backend.BatchNormBackward(x, gamma, beta, saveMean, saveInvStd, dy, dxEval, dgamma, dbeta, eval);
            if (gamma.RequiresGrad) backend.Accumulate(dgamma, gamma.GradForWriting());
            if (beta.RequiresGrad) backend.Accumulate(dbeta, beta.GradForWriting());

            var sums = new float[2 * channels];
            dbeta.Backend.Download<float>(dbeta, sums.AsSpan(0, channels));
            dgamma.Backend.Download<float>(dgamma, sums.AsSpan(channels));
            var global = AllReduced(backend, sums, communicator);
            if (dxEval is null) return;

            var g = gamma.ToDoubleArray();
            var invStd = saveInvStd.ToDoubleArray();
            var slope = new double[channels];
            var shift = new double[channels];
            for (int c = 0; c < channels; c++)
            {
                double scale = g[c] * invStd[c] / total;
                shift[c] = -scale * global[c];
                slope[c] = -scale * global[channels + c];
            }
            var slopeT = Tensor.FromHostDoubles(backend, slope, [channels], x.DType);
            var shiftT = Tensor.FromHostDoubles(backend, shift, [channels], x.DType);
            var correction = Tensor.Empty(backend, x.Shape, x.DType);
            var unusedMean = Tensor.Empty(backend, [channels], x.DType);
            var unusedInvStd = Tensor.Empty(backend, [channels], x.DType);
            backend.BatchNormForward(x, slopeT, shiftT, statMean, statVar, correction, unusedMean, unusedInvStd, eval with { Activation = Activation.None });
            backend.Accumulate(correction, dxEval);
        });
    }

    private static Tensor Copy(Tensor t)
    {
        var copy = Tensor.Empty(t.Backend, t.Shape, t.DType);
        t.Backend.Copy(t, copy);
        return copy;
    }

    private static float[] AllReduced(IBackend backend, float[] values, ICommunicator communicator)
    {
        var t = Tensor.FromArray(backend, values, [values.Length]);
        communicator.AllReduce(t, ReduceOp.Sum);
        var result = t.ToFloatArray();
        t.Storage.Dispose();
        return result;
    }
}
