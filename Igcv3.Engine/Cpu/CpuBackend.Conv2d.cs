using System.Numerics;

namespace Igcv3.Engine.Cpu;

// General 2-D convolution, NHWC input and OHWI weights:
//   x [N, H, W, Cin], w [Cout, K, K, Cg], y [N, Ho, Wo, Cout], Cg = Cin / groups, Og = Cout / groups,
//   output channel co belongs to group g = co / Og and reads input channels g·Cg .. g·Cg + Cg − 1.
// The innermost loop of every kernel runs over the contiguous input-channel axis, shared by x's
// pixels and w's taps (see ConvGeometry.Runs).
public sealed partial class CpuBackend
{
    public void Conv2dForward(Tensor x, Tensor w, Tensor y, Conv2dSpec spec) =>
        ByType(y.DType, () => Conv2dForwardKernel<float>(x, w, y, spec), () => Conv2dForwardKernel<double>(x, w, y, spec));

    public void Conv2dBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, Conv2dSpec spec)
    {
        ZeroUnwritten(dx, dw);
        ByType(dy.DType,
            () => Conv2dBackwardKernels<float>(x, w, dy, dx, dw, spec),
            () => Conv2dBackwardKernels<double>(x, w, dy, dx, dw, spec));
    }

    private static ConvGeometry Geometry(Tensor x, Tensor y, Conv2dSpec spec) =>
        ConvGeometry.Of(x, y, spec.Kernel, spec.Stride, spec.Padding, spec.Groups);

    /// <summary>y[n,oh,ow,co] = Σ_{kh,kw,ci} x[n, oh·s−p+kh, ow·s−p+kw, g·Cg+ci] · w[co,kh,kw,ci].</summary>
    private static void Conv2dForwardKernel<T>(Tensor x, Tensor w, Tensor y, Conv2dSpec spec) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var s = Geometry(x, y, spec);
        int cg = s.CinPerGroup, og = s.CoutPerGroup, k = s.Kernel;
        Memory<T> xm = Memory<T>(x); // x [N, H, W, Cin]
        Memory<T> wm = Memory<T>(w); // w [Cout, K, K, Cg]
        Memory<T> ym = Memory<T>(y); // y [N, Ho, Wo, Cout]
        // One task per output row (n, oh): rows write disjoint parts of y, and there are enough of
        // them to keep every core busy even at batch 1.
        Parallel.For(0, s.N * s.Ho, row =>
        {
            int n = row / s.Ho, oh = row % s.Ho;
            ReadOnlySpan<T> xs = xm.Span, ws = wm.Span;
            Span<T> ys = ym.Span;
            var (kh0, kh1) = s.Taps(oh, s.H);
            for (int ow = 0; ow < s.Wo; ow++)
            {
                var (kw0, kw1) = s.Taps(ow, s.W);
                var (runs, length) = s.Runs(kw0, kw1);
                int iw0 = ow * s.Stride - s.Padding + kw0;
                int yPixel = s.OutputPixel(n, oh, ow);
                for (int co = 0; co < s.Cout; co++)
                {
                    int groupChannel = co / og * cg;
                    T sum = T.Zero;
                    for (int kh = kh0; kh < kh1; kh++)
                    {
                        int xRun = s.InputPixel(n, oh * s.Stride - s.Padding + kh, iw0) + groupChannel;
                        int wRun = ((co * k + kh) * k + kw0) * cg;
                        for (int r = 0; r < runs; r++)
                        {
                            sum += SpanMath.Dot(xs.Slice(xRun + r * s.Cin, length), ws.Slice(wRun + r * cg, length));
                        }
                    }
                    ys[yPixel + co] = sum;
                }
            }
        });
    }

    private static void Conv2dBackwardKernels<T>(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, Conv2dSpec spec) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var s = Geometry(x, dy, spec);
        if (dx is not null) Conv2dBackwardInputKernel<T>(s, w, dy, dx);
        if (dw is not null) Conv2dBackwardWeightKernel<T>(s, x, dy, dw);
    }

    /// <summary>dx[n, oh·s−p+kh, ow·s−p+kw, g·Cg+ci] += Σ_co dy[n,oh,ow,co] · w[co,kh,kw,ci].</summary>
    private static void Conv2dBackwardInputKernel<T>(ConvGeometry s, Tensor w, Tensor dy, Tensor dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int cg = s.CinPerGroup, og = s.CoutPerGroup, k = s.Kernel;
        Memory<T> wm = Memory<T>(w);   // w  [Cout, K, K, Cg]
        Memory<T> dym = Memory<T>(dy); // dy [N, Ho, Wo, Cout]
        Memory<T> dxm = Memory<T>(dx); // dx [N, H, W, Cin]
        // Over the batch only: overlapping windows of neighbouring output rows scatter into the
        // same dx rows, but different images never share an element.
        Parallel.For(0, s.N, n =>
        {
            ReadOnlySpan<T> ws = wm.Span, dys = dym.Span;
            Span<T> dxs = dxm.Span;
            for (int oh = 0; oh < s.Ho; oh++)
            {
                var (kh0, kh1) = s.Taps(oh, s.H);
                for (int ow = 0; ow < s.Wo; ow++)
                {
                    var (kw0, kw1) = s.Taps(ow, s.W);
                    var (runs, length) = s.Runs(kw0, kw1);
                    int iw0 = ow * s.Stride - s.Padding + kw0;
                    int dyPixel = s.OutputPixel(n, oh, ow);
                    for (int co = 0; co < s.Cout; co++)
                    {
                        T d = dys[dyPixel + co];
                        int groupChannel = co / og * cg;
                        for (int kh = kh0; kh < kh1; kh++)
                        {
                            int xRun = s.InputPixel(n, oh * s.Stride - s.Padding + kh, iw0) + groupChannel;
                            int wRun = ((co * k + kh) * k + kw0) * cg;
                            for (int r = 0; r < runs; r++)
                            {
                                SpanMath.MultiplyAdd(dxs.Slice(xRun + r * s.Cin, length), d, ws.Slice(wRun + r * cg, length));
                            }
                        }
                    }
                }
            }
        });
    }

    /// <summary>dw[co,kh,kw,ci] += Σ_{n,oh,ow} dy[n,oh,ow,co] · x[n, oh·s−p+kh, ow·s−p+kw, g·Cg+ci].</summary>
    private static void Conv2dBackwardWeightKernel<T>(ConvGeometry s, Tensor x, Tensor dy, Tensor dw) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int cg = s.CinPerGroup, og = s.CoutPerGroup, k = s.Kernel;
        Memory<T> xm = Memory<T>(x);   // x  [N, H, W, Cin]
        Memory<T> dym = Memory<T>(dy); // dy [N, Ho, Wo, Cout]
        Memory<T> dwm = Memory<T>(dw); // dw [Cout, K, K, Cg]
        // Blocks of output channels: each thread owns its channels' rows of dw (no shared
        // accumulation), and walks x once per block rather than once per channel.
        ParallelBlocks.For(s.Cout, (co0, co1) =>
        {
            ReadOnlySpan<T> xs = xm.Span, dys = dym.Span;
            Span<T> dws = dwm.Span;
            for (int n = 0; n < s.N; n++)
            {
                for (int oh = 0; oh < s.Ho; oh++)
                {
                    var (kh0, kh1) = s.Taps(oh, s.H);
                    for (int ow = 0; ow < s.Wo; ow++)
                    {
                        var (kw0, kw1) = s.Taps(ow, s.W);
                        var (runs, length) = s.Runs(kw0, kw1);
                        int iw0 = ow * s.Stride - s.Padding + kw0;
                        int dyPixel = s.OutputPixel(n, oh, ow);
                        for (int co = co0; co < co1; co++)
                        {
                            T d = dys[dyPixel + co];
                            int groupChannel = co / og * cg;
                            for (int kh = kh0; kh < kh1; kh++)
                            {
                                int xRun = s.InputPixel(n, oh * s.Stride - s.Padding + kh, iw0) + groupChannel;
                                int wRun = ((co * k + kh) * k + kw0) * cg;
                                for (int r = 0; r < runs; r++)
                                {
                                    SpanMath.MultiplyAdd(dws.Slice(wRun + r * cg, length), d, xs.Slice(xRun + r * s.Cin, length));
                                }
                            }
                        }
                    }
                }
            }
        });
    }
}
