using System.Numerics;

namespace Igcv3.Engine.Cpu;

// Depthwise 3x3 convolution, padding 1, stride 1 or 2:
//   x [N, H, W, C], w [C, 3, 3] (PyTorch's [C, 1, 3, 3] memory), y [N, Ho, Wo, C], Ho = (H − 1) / stride + 1.
// Each channel is filtered on its own, so the natural inner loop runs over C, contiguous in x and
// y. The weights are stored channel-major, so the kernels first transpose them to tap-major
// [9, C] (9·C elements, once per call) to make each tap's weights a contiguous run along C too.
public sealed partial class CpuBackend
{
    private const int DepthwiseKernel = 3, DepthwisePadding = 1, DepthwiseTaps = DepthwiseKernel * DepthwiseKernel;

    public void DepthwiseForward(Tensor x, Tensor w, Tensor y, int stride, BatchStatistics? statistics = null)
    {
        statistics?.CheckFor("depthwise (cpu)", y);
        ByType(y.DType, () => DepthwiseForwardKernel<float>(x, w, y, stride), () => DepthwiseForwardKernel<double>(x, w, y, stride));
        ComputeBatchStatistics(y, statistics); // a pass of its own here: the CPU reference of the fused epilogue
    }

    public void DepthwiseBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, int stride)
    {
        ZeroUnwritten(dx, dw);
        ByType(dy.DType,
            () => DepthwiseBackwardKernels<float>(x, w, dy, dx, dw, stride),
            () => DepthwiseBackwardKernels<double>(x, w, dy, dx, dw, stride));
    }

    private static ConvGeometry DepthwiseGeometry(Tensor x, Tensor y, int stride) =>
        ConvGeometry.Of(x, y, DepthwiseKernel, stride, DepthwisePadding, groups: x.Shape[3]);

    /// <summary>y[n,oh,ow,c] = Σ_{kh,kw} x[n, oh·s−1+kh, ow·s−1+kw, c] · w[c,kh,kw].</summary>
    private static void DepthwiseForwardKernel<T>(Tensor x, Tensor w, Tensor y, int stride) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var s = DepthwiseGeometry(x, y, stride);
        int c = s.Cin;
        T[] taps = TapMajor<T>(Span<T>(w), c); // taps [9, C]
        Memory<T> xm = Memory<T>(x);            // x [N, H, W, C]
        Memory<T> ym = Memory<T>(y);            // y [N, Ho, Wo, C]
        // One task per output row (n, oh): rows write disjoint parts of y.
        Parallel.For(0, s.N * s.Ho, row =>
        {
            int n = row / s.Ho, oh = row % s.Ho;
            ReadOnlySpan<T> xs = xm.Span;
            Span<T> ys = ym.Span;
            var (kh0, kh1) = s.Taps(oh, s.H);
            for (int ow = 0; ow < s.Wo; ow++)
            {
                var (kw0, kw1) = s.Taps(ow, s.W);
                Span<T> yPixel = ys.Slice(s.OutputPixel(n, oh, ow), c);
                yPixel.Clear();
                for (int kh = kh0; kh < kh1; kh++)
                {
                    int ih = oh * s.Stride - s.Padding + kh;
                    for (int kw = kw0; kw < kw1; kw++)
                    {
                        int iw = ow * s.Stride - s.Padding + kw;
                        SpanMath.MultiplyAdd(yPixel, xs.Slice(s.InputPixel(n, ih, iw), c), taps.AsSpan((kh * DepthwiseKernel + kw) * c, c));
                    }
                }
            }
        });
    }

    private static void DepthwiseBackwardKernels<T>(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, int stride) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var s = DepthwiseGeometry(x, dy, stride);
        if (dx is not null) DepthwiseBackwardInputKernel<T>(s, w, dy, dx);
        if (dw is not null) DepthwiseBackwardWeightKernel<T>(s, x, dy, dw);
    }

    /// <summary>dx[n, oh·s−1+kh, ow·s−1+kw, c] += dy[n,oh,ow,c] · w[c,kh,kw].</summary>
    private static void DepthwiseBackwardInputKernel<T>(ConvGeometry s, Tensor w, Tensor dy, Tensor dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int c = s.Cin;
        T[] taps = TapMajor<T>(Span<T>(w), c); // taps [9, C]
        Memory<T> dym = Memory<T>(dy);          // dy [N, Ho, Wo, C]
        Memory<T> dxm = Memory<T>(dx);          // dx [N, H, W, C]
        // Over the batch only: neighbouring output rows' windows overlap in dx.
        Parallel.For(0, s.N, n =>
        {
            ReadOnlySpan<T> dys = dym.Span;
            Span<T> dxs = dxm.Span;
            for (int oh = 0; oh < s.Ho; oh++)
            {
                var (kh0, kh1) = s.Taps(oh, s.H);
                for (int ow = 0; ow < s.Wo; ow++)
                {
                    var (kw0, kw1) = s.Taps(ow, s.W);
                    ReadOnlySpan<T> dyPixel = dys.Slice(s.OutputPixel(n, oh, ow), c);
                    for (int kh = kh0; kh < kh1; kh++)
                    {
                        int ih = oh * s.Stride - s.Padding + kh;
                        for (int kw = kw0; kw < kw1; kw++)
                        {
                            int iw = ow * s.Stride - s.Padding + kw;
                            SpanMath.MultiplyAdd(dxs.Slice(s.InputPixel(n, ih, iw), c), dyPixel, taps.AsSpan((kh * DepthwiseKernel + kw) * c, c));
                        }
                    }
                }
            }
        });
    }

    /// <summary>Images whose weight-gradient terms one task sums into its own partial buffer.
    /// Fixed rather than derived from the core count, so the order of summation, and with it
    /// every bit of the result, is the same on every machine.</summary>
    private const int DepthwiseImagesPerPartial = 4;

    /// <summary>dw[c,kh,kw] += Σ_{n,oh,ow} dy[n,oh,ow,c] · x[n, oh·s−1+kh, ow·s−1+kw, c].</summary>
    private static void DepthwiseBackwardWeightKernel<T>(ConvGeometry s, Tensor x, Tensor dy, Tensor dw) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int c = s.Cin;
        Memory<T> xm = Memory<T>(x);   // x  [N, H, W, C]
        Memory<T> dym = Memory<T>(dy); // dy [N, Ho, Wo, C]
        // The sum runs over N·Ho·Wo: each chunk of images sums into its own partial, tap-major so
        // that every run lies along C like x and dy (whole rows of C keep the loop in SIMD).
        // Splitting over channels instead would make every thread stream all of x for a sliver
        // of each pixel, and the kernel memory-bound.
        int chunks = (s.N + DepthwiseImagesPerPartial - 1) / DepthwiseImagesPerPartial;
        var partials = new T[chunks][]; // partials [chunks][9, C]
        Parallel.For(0, chunks, chunk =>
        {
            ReadOnlySpan<T> xs = xm.Span, dys = dym.Span;
            var sums = new T[DepthwiseTaps * c];
            int n1 = Math.Min(s.N, (chunk + 1) * DepthwiseImagesPerPartial);
            for (int n = chunk * DepthwiseImagesPerPartial; n < n1; n++)
            {
                for (int oh = 0; oh < s.Ho; oh++)
                {
                    var (kh0, kh1) = s.Taps(oh, s.H);
                    for (int ow = 0; ow < s.Wo; ow++)
                    {
                        var (kw0, kw1) = s.Taps(ow, s.W);
                        ReadOnlySpan<T> dyPixel = dys.Slice(s.OutputPixel(n, oh, ow), c);
                        for (int kh = kh0; kh < kh1; kh++)
                        {
                            int ih = oh * s.Stride - s.Padding + kh;
                            for (int kw = kw0; kw < kw1; kw++)
                            {
                                int iw = ow * s.Stride - s.Padding + kw;
                                SpanMath.MultiplyAdd(sums.AsSpan((kh * DepthwiseKernel + kw) * c, c), dyPixel, xs.Slice(s.InputPixel(n, ih, iw), c));
                            }
                        }
                    }
                }
            }
            partials[chunk] = sums;
        });
        // Summed in chunk order, whatever order the chunks ran in.
        Span<T> dws = Span<T>(dw); // dw [C, 3, 3]
        foreach (var sums in partials)
        {
            for (int ch = 0; ch < c; ch++)
            {
                for (int tap = 0; tap < DepthwiseTaps; tap++) dws[ch * DepthwiseTaps + tap] += sums[tap * c + ch];
            }
        }
    }

    /// <summary>taps[tap, c] = w[c, tap]: the [C, 9] weights transposed to [9, C].</summary>
    private static T[] TapMajor<T>(ReadOnlySpan<T> w, int channels) where T : unmanaged
    {
        var taps = new T[DepthwiseTaps * channels];
        for (int ch = 0; ch < channels; ch++)
        {
            for (int tap = 0; tap < DepthwiseTaps; tap++) taps[tap * channels + ch] = w[ch * DepthwiseTaps + tap];
        }
        return taps;
    }
}
