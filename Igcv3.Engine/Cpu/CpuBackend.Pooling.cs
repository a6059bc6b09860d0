using System.Numerics;

namespace Igcv3.Engine.Cpu;

public sealed partial class CpuBackend
{
    public void GlobalAvgPoolForward(Tensor x, Tensor y) =>
        ByType(x.DType, () => GlobalAvgPoolForwardKernel<float>(x, y), () => GlobalAvgPoolForwardKernel<double>(x, y));

    public void GlobalAvgPoolBackward(Tensor dy, Tensor dx)
    {
        ZeroUnwritten(dx);
        ByType(dx.DType, () => GlobalAvgPoolBackwardKernel<float>(dy, dx), () => GlobalAvgPoolBackwardKernel<double>(dy, dx));
    }

    public void MaxPoolForward(Tensor x, Tensor y, PoolSpec spec) =>
        ByType(x.DType, () => MaxPoolForwardKernel<float>(x, y, spec), () => MaxPoolForwardKernel<double>(x, y, spec));

    public void MaxPoolBackward(Tensor x, Tensor dy, Tensor dx, PoolSpec spec)
    {
        ZeroUnwritten(dx);
        ByType(x.DType, () => MaxPoolBackwardKernel<float>(x, dy, dx, spec), () => MaxPoolBackwardKernel<double>(x, dy, dx, spec));
    }

    /// <summary>y[n, c] = Σ_{h,w} x[n, h, w, c] / (H·W).</summary>
    private static void GlobalAvgPoolForwardKernel<T>(Tensor x, Tensor y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Shape[0], area = x.Shape[1] * x.Shape[2], channels = x.Shape[3];
        var mx = Memory<T>(x); // x [N, H, W, C]
        var my = Memory<T>(y); // y [N, C]
        Parallel.For(0, n, b =>
        {
            ReadOnlySpan<T> sx = mx.Span.Slice(b * area * channels, area * channels);
            Span<T> sy = my.Span.Slice(b * channels, channels);
            var sums = new double[channels];
            for (int p = 0; p < area; p++)
            {
                for (int c = 0; c < channels; c++) sums[c] += double.CreateTruncating(sx[p * channels + c]);
            }
            for (int c = 0; c < channels; c++) sy[c] = Cast<T>(sums[c] / area);
        });
    }

    /// <summary>dx[n, h, w, c] += dy[n, c] / (H·W).</summary>
    private static void GlobalAvgPoolBackwardKernel<T>(Tensor dy, Tensor dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = dx.Shape[0], area = dx.Shape[1] * dx.Shape[2], channels = dx.Shape[3];
        var mdy = Memory<T>(dy); // dy [N, C]
        var mdx = Memory<T>(dx); // dx [N, H, W, C]
        T scale = T.One / Cast<T>(area);
        Parallel.For(0, n, b =>
        {
            ReadOnlySpan<T> sdy = mdy.Span.Slice(b * channels, channels);
            Span<T> sdx = mdx.Span.Slice(b * area * channels, area * channels);
            for (int p = 0; p < area; p++)
            {
                for (int c = 0; c < channels; c++) sdx[p * channels + c] += sdy[c] * scale;
            }
        });
    }

    /// <summary>y[n, oh, ow, c] = max over the K×K window at (oh·S − P, ow·S − P) of x[n, ·, ·, c];
    /// padded positions are −∞, i.e. never chosen (the front-end keeps P ≤ K/2, so every window
    /// holds a real element).</summary>
    private static void MaxPoolForwardKernel<T>(Tensor x, Tensor y, PoolSpec spec) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Shape[0], h = x.Shape[1], w = x.Shape[2], channels = x.Shape[3];
        int ho = y.Shape[1], wo = y.Shape[2];
        var mx = Memory<T>(x); // x [N, H, W, C]
        var my = Memory<T>(y); // y [N, Ho, Wo, C]
        Parallel.For(0, n, b =>
        {
            ReadOnlySpan<T> sx = mx.Span.Slice(b * h * w * channels, h * w * channels);
            Span<T> sy = my.Span.Slice(b * ho * wo * channels, ho * wo * channels);
            for (int oh = 0; oh < ho; oh++)
            {
                for (int ow = 0; ow < wo; ow++)
                {
                    for (int c = 0; c < channels; c++)
                    {
                        int argmax = MaxPoolArgmax(sx, h, w, channels, oh, ow, c, spec);
                        sy[(oh * wo + ow) * channels + c] = sx[argmax];
                    }
                }
            }
        });
    }

    /// <summary>dx[argmax of each window] += dy[n, oh, ow, c], the argmax recomputed from x.
    /// Overlapping windows (3x3/2) add into one dx element, so the parallel loop is over the batch.</summary>
    private static void MaxPoolBackwardKernel<T>(Tensor x, Tensor dy, Tensor dx, PoolSpec spec) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Shape[0], h = x.Shape[1], w = x.Shape[2], channels = x.Shape[3];
        int ho = dy.Shape[1], wo = dy.Shape[2];
        var mx = Memory<T>(x);   // x [N, H, W, C]
        var mdy = Memory<T>(dy); // dy [N, Ho, Wo, C]
        var mdx = Memory<T>(dx); // dx [N, H, W, C]
        Parallel.For(0, n, b =>
        {
            ReadOnlySpan<T> sx = mx.Span.Slice(b * h * w * channels, h * w * channels);
            ReadOnlySpan<T> sdy = mdy.Span.Slice(b * ho * wo * channels, ho * wo * channels);
            Span<T> sdx = mdx.Span.Slice(b * h * w * channels, h * w * channels);
            for (int oh = 0; oh < ho; oh++)
            {
                for (int ow = 0; ow < wo; ow++)
                {
                    for (int c = 0; c < channels; c++)
                    {
                        int argmax = MaxPoolArgmax(sx, h, w, channels, oh, ow, c, spec);
                        sdx[argmax] += sdy[(oh * wo + ow) * channels + c];
                    }
                }
            }
        });
    }

    /// <summary>Index into one image [H, W, C] of the FIRST maximum (row-major window order) of
    /// output (oh, ow)'s window in channel c. Starting from the first real element rather than
    /// from −∞ keeps a window of −∞ values pointing at a real element.</summary>
    private static int MaxPoolArgmax<T>(ReadOnlySpan<T> image, int h, int w, int channels, int oh, int ow, int c, PoolSpec spec)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int top = oh * spec.Stride - spec.Padding, left = ow * spec.Stride - spec.Padding;
        int best = -1;
        for (int ih = Math.Max(top, 0); ih < Math.Min(top + spec.Kernel, h); ih++)
        {
            for (int iw = Math.Max(left, 0); iw < Math.Min(left + spec.Kernel, w); iw++)
            {
                int i = (ih * w + iw) * channels + c;
                if (best < 0 || image[i] > image[best]) best = i;
            }
        }
        return best;
    }
}
