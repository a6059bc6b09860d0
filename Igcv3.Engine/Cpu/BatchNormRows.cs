using System.Numerics;

namespace Igcv3.Engine.Cpu;

/// <summary>
/// The per-row arithmetic of batch norm, in double over one row of C channels (x̂ = (x − μ)·invstd),
/// vectorised along C. Each helper computes exactly the expression its comment states, in that
/// order, for vector lanes and scalar tail alike, so the kernels give the same bits as scalar
/// double loops would.
/// </summary>
internal static class BatchNormRows
{
    private static int Lanes => Vector<double>.Count;

    /// <summary>sum[c] += (x[c] − mean[c])².</summary>
    public static void AddSquaredDeviations(Span<double> sum, ReadOnlySpan<double> x, ReadOnlySpan<double> mean)
    {
        int c = 0;
        for (; c <= sum.Length - Lanes; c += Lanes)
        {
            var d = new Vector<double>(x.Slice(c)) - new Vector<double>(mean.Slice(c));
            (new Vector<double>(sum.Slice(c)) + d * d).CopyTo(sum.Slice(c));
        }
        for (; c < sum.Length; c++)
        {
            double d = x[c] - mean[c];
            sum[c] += d * d;
        }
    }

    /// <summary>y[c] = γ[c]·((x[c] − mean[c])·invStd[c]) + β[c].</summary>
    public static void Normalize(Span<double> y, ReadOnlySpan<double> x, ReadOnlySpan<double> mean, ReadOnlySpan<double> invStd,
        ReadOnlySpan<double> gamma, ReadOnlySpan<double> beta)
    {
        int c = 0;
        for (; c <= y.Length - Lanes; c += Lanes)
        {
            var xhat = (new Vector<double>(x.Slice(c)) - new Vector<double>(mean.Slice(c))) * new Vector<double>(invStd.Slice(c));
            (new Vector<double>(gamma.Slice(c)) * xhat + new Vector<double>(beta.Slice(c))).CopyTo(y.Slice(c));
        }
        for (; c < y.Length; c++) y[c] = gamma[c] * ((x[c] - mean[c]) * invStd[c]) + beta[c];
    }

    /// <summary>sumGrad[c] += g[c]; sumGradXhat[c] += g[c]·((x[c] − mean[c])·invStd[c]).</summary>
    public static void AddGradientSums(Span<double> sumGrad, Span<double> sumGradXhat, ReadOnlySpan<double> g, ReadOnlySpan<double> x,
        ReadOnlySpan<double> mean, ReadOnlySpan<double> invStd)
    {
        int c = 0;
        for (; c <= sumGrad.Length - Lanes; c += Lanes)
        {
            var vg = new Vector<double>(g.Slice(c));
            var xhat = (new Vector<double>(x.Slice(c)) - new Vector<double>(mean.Slice(c))) * new Vector<double>(invStd.Slice(c));
            (new Vector<double>(sumGrad.Slice(c)) + vg).CopyTo(sumGrad.Slice(c));
            (new Vector<double>(sumGradXhat.Slice(c)) + vg * xhat).CopyTo(sumGradXhat.Slice(c));
        }
        for (; c < sumGrad.Length; c++)
        {
            sumGrad[c] += g[c];
            sumGradXhat[c] += g[c] * ((x[c] - mean[c]) * invStd[c]);
        }
    }

    /// <summary>Training: d[c] = scale[c]·((g[c] − meanGrad[c]) − (x̂·sumGradXhat[c]) / rows), with
    /// scale = γ·invstd and meanGrad = Σĝ/M: the batch statistics' share of the gradient removed.</summary>
    public static void TrainingInputGradient(Span<double> d, ReadOnlySpan<double> g, ReadOnlySpan<double> x, ReadOnlySpan<double> mean,
        ReadOnlySpan<double> invStd, ReadOnlySpan<double> meanGrad, ReadOnlySpan<double> sumGradXhat, ReadOnlySpan<double> scale, double rows)
    {
        int c = 0;
        var vRows = new Vector<double>(rows);
        for (; c <= d.Length - Lanes; c += Lanes)
        {
            var xhat = (new Vector<double>(x.Slice(c)) - new Vector<double>(mean.Slice(c))) * new Vector<double>(invStd.Slice(c));
            var t = new Vector<double>(g.Slice(c)) - new Vector<double>(meanGrad.Slice(c)) - xhat * new Vector<double>(sumGradXhat.Slice(c)) / vRows;
            (new Vector<double>(scale.Slice(c)) * t).CopyTo(d.Slice(c));
        }
        for (; c < d.Length; c++)
        {
            double xhat = (x[c] - mean[c]) * invStd[c];
            d[c] = scale[c] * (g[c] - meanGrad[c] - xhat * sumGradXhat[c] / rows);
        }
    }

    /// <summary>d[c] = a[c]·b[c].</summary>
    public static void Multiply(Span<double> d, ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        int c = 0;
        for (; c <= d.Length - Lanes; c += Lanes) (new Vector<double>(a.Slice(c)) * new Vector<double>(b.Slice(c))).CopyTo(d.Slice(c));
        for (; c < d.Length; c++) d[c] = a[c] * b[c];
    }
}
