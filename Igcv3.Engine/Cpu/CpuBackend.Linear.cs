using System.Numerics;

namespace Igcv3.Engine.Cpu;

public sealed partial class CpuBackend
{
    public void LinearForward(Tensor x, Tensor w, Tensor? b, Tensor y) =>
        ByType(x.DType, () => LinearForwardKernel<float>(x, w, b, y), () => LinearForwardKernel<double>(x, w, b, y));

    public void LinearBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, Tensor? db)
    {
        ZeroUnwritten(dx, dw, db);
        ByType(x.DType, () => LinearBackwardKernel<float>(x, w, dy, dx, dw, db), () => LinearBackwardKernel<double>(x, w, dy, dx, dw, db));
    }

    /// <summary>y[n, o] = Σ_i x[n, i]·w[o, i] + b[o].</summary>
    private static void LinearForwardKernel<T>(Tensor x, Tensor w, Tensor? b, Tensor y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Shape[0], inputs = x.Shape[1], outputs = w.Shape[0];
        var mx = Memory<T>(x); // x [N, In]
        var mw = Memory<T>(w); // w [Out, In]
        var mb = b is null ? default : Memory<T>(b); // b [Out]
        var my = Memory<T>(y); // y [N, Out]
        bool hasBias = b is not null;
        Parallel.For(0, n, row =>
        {
            ReadOnlySpan<T> xr = mx.Span.Slice(row * inputs, inputs);
            ReadOnlySpan<T> sw = mw.Span, sb = mb.Span;
            Span<T> yr = my.Span.Slice(row * outputs, outputs);
            for (int o = 0; o < outputs; o++)
            {
                ReadOnlySpan<T> wr = sw.Slice(o * inputs, inputs);
                double sum = hasBias ? double.CreateTruncating(sb[o]) : 0.0;
                for (int i = 0; i < inputs; i++) sum += double.CreateTruncating(xr[i]) * double.CreateTruncating(wr[i]);
                yr[o] = Cast<T>(sum);
            }
        });
    }

    /// <summary>dx[n, i] += Σ_o dy[n, o]·w[o, i]; dw[o, i] += Σ_n dy[n, o]·x[n, i]; db[o] += Σ_n dy[n, o].
    /// dx is parallel over rows, dw and db over output features, so no two threads share an element.</summary>
    private static void LinearBackwardKernel<T>(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, Tensor? db) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Shape[0], inputs = x.Shape[1], outputs = w.Shape[0];
        var mx = Memory<T>(x);   // x [N, In]
        var mw = Memory<T>(w);   // w [Out, In]
        var mdy = Memory<T>(dy); // dy [N, Out]
        if (dx is not null)
        {
            var mdx = Memory<T>(dx); // dx [N, In]
            Parallel.For(0, n, row =>
            {
                ReadOnlySpan<T> dyr = mdy.Span.Slice(row * outputs, outputs);
                ReadOnlySpan<T> sw = mw.Span;
                Span<T> dxr = mdx.Span.Slice(row * inputs, inputs);
                var sums = new double[inputs];
                for (int o = 0; o < outputs; o++)
                {
                    double g = double.CreateTruncating(dyr[o]);
                    ReadOnlySpan<T> wr = sw.Slice(o * inputs, inputs);
                    for (int i = 0; i < inputs; i++) sums[i] += g * double.CreateTruncating(wr[i]);
                }
                for (int i = 0; i < inputs; i++) dxr[i] += Cast<T>(sums[i]);
            });
        }
        if (dw is null && db is null) return;
        var mdw = dw is null ? default : Memory<T>(dw); // dw [Out, In]
        var mdb = db is null ? default : Memory<T>(db); // db [Out]
        bool wantW = dw is not null, wantB = db is not null;
        Parallel.For(0, outputs, o =>
        {
            ReadOnlySpan<T> sx = mx.Span, sdy = mdy.Span;
            var sums = new double[inputs];
            double biasSum = 0;
            for (int row = 0; row < n; row++)
            {
                double g = double.CreateTruncating(sdy[row * outputs + o]);
                biasSum += g;
                if (!wantW) continue;
                ReadOnlySpan<T> xr = sx.Slice(row * inputs, inputs);
                for (int i = 0; i < inputs; i++) sums[i] += g * double.CreateTruncating(xr[i]);
            }
            if (wantW)
            {
                Span<T> dwr = mdw.Span.Slice(o * inputs, inputs);
                for (int i = 0; i < inputs; i++) dwr[i] += Cast<T>(sums[i]);
            }
            if (wantB) mdb.Span[o] += Cast<T>(biasSum);
        });
    }
}
