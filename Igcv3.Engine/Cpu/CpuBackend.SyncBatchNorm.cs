using Igcv3.Engine.Distributed;

namespace Igcv3.Engine.Cpu;

// The reference of syncbn.cu: the same formulas, in double, ranks in order.
public sealed partial class CpuBackend : ISyncBatchNormBackend
{
    public void SyncBatchNormPack(Tensor mean, Tensor invStd, long rows, double epsilon, Tensor gathered, int rank)
    {
        var (w, c) = CheckGathered(gathered, mean, invStd);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, w);
        var mu = mean.ToDoubleArray();
        var s = invStd.ToDoubleArray();
        var row = new double[1 + 2 * c];
        row[0] = rows;
        for (int i = 0; i < c; i++)
        {
            row[1 + i] = mu[i];
            row[1 + c + i] = 1.0 / (s[i] * s[i]) - epsilon;
        }
        var all = gathered.ToDoubleArray();
        row.CopyTo(all, rank * row.Length);
        gathered.UploadDoubles(all);
    }

    public void SyncBatchNormCombine(Tensor gathered, double momentum, Tensor runningMean, Tensor runningVar, Tensor mean, Tensor variance)
    {
        var (w, c) = CheckGathered(gathered, runningMean, runningVar, mean, variance);
        var all = gathered.ToDoubleArray();
        int width = 1 + 2 * c;
        double total = Total(all, w, c);
        var mu = new double[c];
        var sigma2 = new double[c];
        for (int r = 0; r < w; r++)
        {
            for (int i = 0; i < c; i++) mu[i] += all[r * width] * all[r * width + 1 + i] / total;
        }
        for (int r = 0; r < w; r++)
        {
            for (int i = 0; i < c; i++)
            {
                double d = all[r * width + 1 + i] - mu[i];
                sigma2[i] += all[r * width] * (all[r * width + 1 + c + i] + d * d) / total;
            }
        }
        var running = runningMean.ToDoubleArray();
        var runningV = runningVar.ToDoubleArray();
        for (int i = 0; i < c; i++)
        {
            running[i] = (1 - momentum) * running[i] + momentum * mu[i];
            runningV[i] = (1 - momentum) * runningV[i] + momentum * sigma2[i] * total / (total - 1);
        }
        runningMean.UploadDoubles(running);
        runningVar.UploadDoubles(runningV);
        mean.UploadDoubles(mu);
        variance.UploadDoubles(sigma2);
    }

    public void SyncBatchNormCorrection(Tensor sums, Tensor gamma, Tensor invStd, Tensor gathered, Tensor slope, Tensor shift)
    {
        var (w, c) = CheckGathered(gathered, gamma, invStd, slope, shift);
        if (sums.Count != 2 * c) throw new ArgumentException($"sync batch_norm: sums {sums} must hold 2·{c} values (Σĝ, Σĝx̂)");
        double total = Total(gathered.ToDoubleArray(), w, c);
        var g = gamma.ToDoubleArray();
        var s = invStd.ToDoubleArray();
        var global = sums.ToDoubleArray();
        var slopes = new double[c];
        var shifts = new double[c];
        for (int i = 0; i < c; i++)
        {
            double scale = g[i] * s[i] / total;
            shifts[i] = -scale * global[i];
            slopes[i] = -scale * global[c + i];
        }
        slope.UploadDoubles(slopes);
        shift.UploadDoubles(shifts);
    }

    private static double Total(double[] all, int w, int c)
    {
        double total = 0;
        for (int r = 0; r < w; r++) total += all[r * (1 + 2 * c)];
        return total;
    }

    private static (int W, int C) CheckGathered(Tensor gathered, Tensor perChannel, params ReadOnlySpan<Tensor> more)
    {
        int c = (int)perChannel.Count;
        foreach (var t in more)
        {
            if (t.Count != c) throw new ArgumentException($"sync batch_norm: {t} must hold one value per channel ({c})");
        }
        if (gathered.Shape.Rank != 2 || gathered.Shape[1] != 1 + 2 * c) throw new ArgumentException($"sync batch_norm: gathered {gathered.Shape} must be [ranks, 1 + 2·{c}]");
        return (gathered.Shape[0], c);
    }
}
