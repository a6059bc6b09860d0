using System.Numerics;

namespace Igcv3.Engine.Cpu;

public sealed partial class CpuBackend
{
    public void BatchNormForward(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        Tensor y, Tensor saveMean, Tensor saveInvStd, BatchNormSpec spec) =>
        ByType(x.DType,
            () => BatchNormForwardKernel<float>(x, gamma, beta, runningMean, runningVar, y, saveMean, saveInvStd, spec),
            () => BatchNormForwardKernel<double>(x, gamma, beta, runningMean, runningVar, y, saveMean, saveInvStd, spec));

    public void BatchNormBackward(Tensor x, Tensor gamma, Tensor beta, Tensor saveMean, Tensor saveInvStd, Tensor dy,
        Tensor? dx, Tensor? dgamma, Tensor? dbeta, BatchNormSpec spec)
    {
        ZeroUnwritten(dx, dgamma, dbeta);
        ByType(x.DType,
            () => BatchNormBackwardKernel<float>(x, gamma, beta, saveMean, saveInvStd, dy, dx, dgamma, dbeta, spec),
            () => BatchNormBackwardKernel<double>(x, gamma, beta, saveMean, saveInvStd, dy, dx, dgamma, dbeta, spec));
    }

    public void BatchNormApply(Tensor x, Tensor gamma, Tensor beta, Tensor mean, Tensor invStd, Tensor y, Activation activation, Tensor? residual = null) =>
        ByType(x.DType,
            () => BatchNormApplyKernel<float>(x, gamma, beta, ToDoubles<float>(mean), ToDoubles<float>(invStd), y, activation, residual),
            () => BatchNormApplyKernel<double>(x, gamma, beta, ToDoubles<double>(mean), ToDoubles<double>(invStd), y, activation, residual));

    /// <summary>The batch statistics of a convolution's output y, for the training-mode batch norm
    /// that asked for them: the same computation as that norm's own (<see cref="TrainingStatistics{T}"/>).</summary>
    private static void ComputeBatchStatistics(Tensor y, BatchStatistics? statistics)
    {
        // One row has no batch variance: left to the batch norm, whose front-end says so.
        if (statistics is null || y.Count < 2L * statistics.Channels) return;
        ByType(y.DType,
            () => SaveStatistics<float>(TrainingStatistics<float>(y, statistics.RunningMean, statistics.RunningVar, statistics.Momentum, statistics.Epsilon), statistics.SaveMean, statistics.SaveInvStd),
            () => SaveStatistics<double>(TrainingStatistics<double>(y, statistics.RunningMean, statistics.RunningVar, statistics.Momentum, statistics.Epsilon), statistics.SaveMean, statistics.SaveInvStd));
        statistics.MarkComputed();
    }

    /// <summary>y = act(γ·(x − μ)·invstd + β), invstd = 1/√(σ² + ε). Training: μ, σ² are the batch
    /// mean and biased variance over the M = count/C rows (<see cref="TrainingStatistics{T}"/>);
    /// eval: μ, σ² are the running statistics. μ and invstd go to saveMean/saveInvStd.</summary>
    private static void BatchNormForwardKernel<T>(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        Tensor y, Tensor saveMean, Tensor saveInvStd, BatchNormSpec spec) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (mean, invStd) = spec.Training
            ? TrainingStatistics<T>(x, runningMean, runningVar, spec.Momentum, spec.Epsilon)
            : EvalStatistics<T>(runningMean, runningVar, spec.Epsilon);
        SaveStatistics<T>((mean, invStd), saveMean, saveInvStd);
        BatchNormApplyKernel<T>(x, gamma, beta, mean, invStd, y, spec.Activation);
    }

    /// <summary>The batch mean μ and 1/√(σ² + ε) of x [M, C] (σ² the biased variance), and
    /// running ← (1 − m)·running + m·(μ, σ²·M/(M − 1)).</summary>
    private static (double[] Mean, double[] InvStd) TrainingStatistics<T>(Tensor x, Tensor runningMean, Tensor runningVar, double momentum, double epsilon)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int channels = x.Shape[-1];
        int rows = (int)(x.Count / channels);
        var mx = Memory<T>(x);   // x [M, C], M = N·H·W
        Span<T> runMean = Span<T>(runningMean); // [C]
        Span<T> runVar = Span<T>(runningVar);   // [C]
        var mean = new double[channels];
        var invStd = new double[channels];
        // The unbiased variance divides by M − 1; the op front-end rejects M < 2 (as PyTorch does).
        if (rows < 2) throw new ArgumentException($"batch_norm: training needs at least 2 values per channel, x {x.Shape} has {rows}");
        // Two passes in double (mean, then squared deviations): E[x²] − E[x]² in float would
        // lose the variance to cancellation when M = 128·32·32 and |mean| ≫ std.
        double[] sums = ChunkedRowSums(rows, channels, (start, end, partial) =>
        {
            ReadOnlySpan<T> sx = mx.Span;
            var xd = new double[channels]; // one row of x in double
            for (int r = start; r < end; r++)
            {
                SpanMath.Widen(sx.Slice(r * channels, channels), xd);
                SpanMath.Add<double>(partial, xd);
            }
        });
        for (int c = 0; c < channels; c++) mean[c] = sums[c] / rows;
        double[] squares = ChunkedRowSums(rows, channels, (start, end, partial) =>
        {
            ReadOnlySpan<T> sx = mx.Span;
            var xd = new double[channels];
            for (int r = start; r < end; r++)
            {
                SpanMath.Widen(sx.Slice(r * channels, channels), xd);
                BatchNormRows.AddSquaredDeviations(partial, xd, mean);
            }
        });
        double m = momentum;
        for (int c = 0; c < channels; c++)
        {
            double biased = squares[c] / rows;
            double unbiased = squares[c] / (rows - 1);
            invStd[c] = 1.0 / Math.Sqrt(biased + epsilon);
            runMean[c] = Cast<T>((1 - m) * double.CreateTruncating(runMean[c]) + m * mean[c]);
            runVar[c] = Cast<T>((1 - m) * double.CreateTruncating(runVar[c]) + m * unbiased);
        }
        return (mean, invStd);
    }

    private static (double[] Mean, double[] InvStd) EvalStatistics<T>(Tensor runningMean, Tensor runningVar, double epsilon)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<T> runMean = Span<T>(runningMean); // [C]
        Span<T> runVar = Span<T>(runningVar);   // [C]
        var mean = new double[runMean.Length];
        var invStd = new double[runMean.Length];
        for (int c = 0; c < mean.Length; c++)
        {
            mean[c] = double.CreateTruncating(runMean[c]);
            invStd[c] = 1.0 / Math.Sqrt(double.CreateTruncating(runVar[c]) + epsilon);
        }
        return (mean, invStd);
    }

    private static void SaveStatistics<T>((double[] Mean, double[] InvStd) statistics, Tensor saveMean, Tensor saveInvStd)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<T> sMean = Span<T>(saveMean);     // [C]
        Span<T> sInvStd = Span<T>(saveInvStd); // [C]
        for (int c = 0; c < sMean.Length; c++)
        {
            sMean[c] = Cast<T>(statistics.Mean[c]);
            sInvStd[c] = Cast<T>(statistics.InvStd[c]);
        }
    }

    /// <summary>y = act(γ·(x − mean)·invStd + β), in double, rounded once to T; then + residual
    /// in T, as the add op would add the rounded output.</summary>
    private static void BatchNormApplyKernel<T>(Tensor x, Tensor gamma, Tensor beta, double[] mean, double[] invStd, Tensor y, Activation activation,
        Tensor? residual = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int channels = x.Shape[-1];
        int rows = (int)(x.Count / channels);
        var mx = Memory<T>(x);   // x [M, C]
        var my = Memory<T>(y);   // y [M, C]
        var mr = residual is null ? default : Memory<T>(residual); // residual [M, C]
        double[] g = ToDoubles<T>(gamma); // [C]
        double[] b = ToDoubles<T>(beta);  // [C]
        ForRowChunks(rows, (start, end) =>
        {
            ReadOnlySpan<T> sx = mx.Span;
            Span<T> sy = my.Span;
            var xd = new double[channels]; // x row in double
            var yd = new double[channels]; // γ·x̂ + β, before rounding to T
            for (int r = start; r < end; r++)
            {
                Span<T> yRow = sy.Slice(r * channels, channels);
                SpanMath.Widen(sx.Slice(r * channels, channels), xd);
                BatchNormRows.Normalize(yd, xd, mean, invStd, g, b);
                SpanMath.Narrow<T>(yd, yRow);
                ActivationRows.ActivateInPlace(activation, yRow);
                if (residual is not null) SpanMath.Add<T>(yRow, mr.Span.Slice(r * channels, channels));
            }
        });
    }

    /// <summary>With ĝ = dy·act'(y) (y recomputed from x: the mask without keeping y) and x̂ = (x − μ)·invstd:
    /// dβ += Σ ĝ, dγ += Σ ĝ·x̂; training dx += γ·invstd·(ĝ − Σĝ/M − x̂·Σ(ĝ·x̂)/M) (the batch
    /// statistics depend on x), eval dx += γ·invstd·ĝ.</summary>
    private static void BatchNormBackwardKernel<T>(Tensor x, Tensor gamma, Tensor beta, Tensor saveMean, Tensor saveInvStd, Tensor dy,
        Tensor? dx, Tensor? dgamma, Tensor? dbeta, BatchNormSpec spec) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int channels = x.Shape[-1];
        int rows = (int)(x.Count / channels);
        var mx = Memory<T>(x);   // x [M, C]
        var mdy = Memory<T>(dy); // dy [M, C]
        double[] mean = ToDoubles<T>(saveMean);     // [C]
        double[] invStd = ToDoubles<T>(saveInvStd); // [C]
        double[] g = ToDoubles<T>(gamma);           // [C]
        double[] b = ToDoubles<T>(beta);            // [C]
        var activation = spec.Activation;

        // ĝ row r = dy·act'(y), y recomputed from x with the saved statistics as the forward's
        // Normalize, rounding and activation made it (so y need not be kept, nor read); without
        // an activation every gradient passes and y is not needed. Leaves row r of x in xd.
        void MaskedGradientRow(ReadOnlySpan<T> sx, ReadOnlySpan<T> sdy, int r, Span<T> gradRow, double[] xd, double[] yd, T[] yRow)
        {
            SpanMath.Widen(sx.Slice(r * channels, channels), xd);
            if (activation != Activation.None)
            {
                BatchNormRows.Normalize(yd, xd, mean, invStd, g, b);
                SpanMath.Narrow<T>(yd, yRow);
                ActivationRows.ActivateInPlace(activation, yRow);
            }
            ActivationRows.MaskGradient(activation, yRow, sdy.Slice(r * channels, channels), gradRow); // None: a copy of dy
        }

        // sums[c] = Σ ĝ, sums[C + c] = Σ ĝ·x̂
        double[] sums = ChunkedRowSums(rows, 2 * channels, (start, end, partial) =>
        {
            ReadOnlySpan<T> sx = mx.Span, sdy = mdy.Span;
            var gradRow = new T[channels];     // ĝ row
            var gd = new double[channels];     // ĝ row in double
            var xd = new double[channels];     // x row in double
            var yd = new double[channels];     // y row before rounding
            var yRow = new T[channels];        // y row
            for (int r = start; r < end; r++)
            {
                MaskedGradientRow(sx, sdy, r, gradRow, xd, yd, yRow);
                SpanMath.Widen<T>(gradRow, gd);
                BatchNormRows.AddGradientSums(partial.AsSpan(0, channels), partial.AsSpan(channels, channels), gd, xd, mean, invStd);
            }
        });

        if (dbeta is not null)
        {
            Span<T> sdb = Span<T>(dbeta); // [C]
            for (int c = 0; c < channels; c++) sdb[c] += Cast<T>(sums[c]);
        }
        if (dgamma is not null)
        {
            Span<T> sdg = Span<T>(dgamma); // [C]
            for (int c = 0; c < channels; c++) sdg[c] += Cast<T>(sums[channels + c]);
        }
        if (dx is null) return;

        var mdx = Memory<T>(dx); // dx [M, C]
        bool training = spec.Training;
        var scale = new double[channels];    // γ·invstd
        var meanGrad = new double[channels]; // Σĝ / M
        for (int c = 0; c < channels; c++)
        {
            scale[c] = g[c] * invStd[c];
            meanGrad[c] = sums[c] / rows;
        }
        double[] sumGradXhat = sums[channels..];
        ForRowChunks(rows, (start, end) =>
        {
            ReadOnlySpan<T> sx = mx.Span, sdy = mdy.Span;
            Span<T> sdx = mdx.Span;
            var gradRow = new T[channels];
            var gd = new double[channels];
            var xd = new double[channels];   // x row in double (MaskedGradientRow widens it)
            var yd = new double[channels];
            var yRow = new T[channels];
            var dd = new double[channels];   // this row's dx term in double
            var dRow = new T[channels];      // ... rounded to T
            for (int r = start; r < end; r++)
            {
                MaskedGradientRow(sx, sdy, r, gradRow, xd, yd, yRow);
                SpanMath.Widen<T>(gradRow, gd);
                if (training)
                {
                    BatchNormRows.TrainingInputGradient(dd, gd, xd, mean, invStd, meanGrad, sumGradXhat, scale, rows);
                }
                else
                {
                    BatchNormRows.Multiply(dd, scale, gd);
                }
                SpanMath.Narrow<T>(dd, dRow);
                SpanMath.Add<T>(sdx.Slice(r * channels, channels), dRow);
            }
        });
    }

    /// <summary>Rows handed to one parallel task: enough work to amortise the task, and a fixed
    /// number (not one per core) so that reductions add in the same order on every machine.</summary>
    private const int RowsPerChunk = 1024;

    /// <summary>Runs body(start, end) over [0, rows) in chunks of <see cref="RowsPerChunk"/>, in parallel.</summary>
    private static void ForRowChunks(int rows, Action<int, int> body)
    {
        int chunks = (rows + RowsPerChunk - 1) / RowsPerChunk;
        Parallel.For(0, chunks, k => body(k * RowsPerChunk, Math.Min(rows, (k + 1) * RowsPerChunk)));
    }

    /// <summary>Per-column sums over rows: sumRows(start, end, partial) adds rows [start, end) into
    /// its chunk's own partial [width]; the partials are then added in chunk order. No two threads
    /// write one element, and the result does not depend on scheduling.</summary>
    private static double[] ChunkedRowSums(int rows, int width, Action<int, int, double[]> sumRows)
    {
        int chunks = (rows + RowsPerChunk - 1) / RowsPerChunk;
        var partials = new double[chunks][];
        Parallel.For(0, chunks, k =>
        {
            var partial = new double[width];
            sumRows(k * RowsPerChunk, Math.Min(rows, (k + 1) * RowsPerChunk), partial);
            partials[k] = partial;
        });
        var total = new double[width];
        foreach (var partial in partials)
        {
            for (int j = 0; j < width; j++) total[j] += partial[j];
        }
        return total;
    }

    /// <summary>A small tensor's values in double (per-channel parameters and statistics).</summary>
    private static double[] ToDoubles<T>(Tensor t) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ReadOnlySpan<T> s = Span<T>(t);
        var values = new double[s.Length];
        for (int i = 0; i < s.Length; i++) values[i] = double.CreateTruncating(s[i]);
        return values;
    }
}
