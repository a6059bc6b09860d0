using System.Numerics;

namespace Igcv3.Engine.Cpu;

/// <summary>
/// The grouped 1x1 convolution with fused IGC permutations, and the explicit permutation op.
/// With NHWC activations a 1x1 convolution is a GEMM over M = N·H·W rows of channels. The
/// permutations never touch memory on their own: the input permutation P(Gin) decides which x
/// channel a weight multiplies (a gather through <see cref="ChannelPermutation.SourceTable"/>) and
/// the output permutation P(Gout) decides which y channel a sum is written to (through
/// <see cref="ChannelPermutation.DestinationTable"/>). Writing u = P(Gin)·x and v = conv(u), so that
/// y = P(Gout)·v, with g(o) = ⌊o / (Cout/groups)⌋ the group of conv output o:
///
///     v[m, o]  = Σ_k w[o, k] · x[m, inSource[g(o)·Cin/groups + k]]
///     y[m, outDestination[o]] = v[m, o]
///
/// When a permutation is the identity the gather is contiguous and the inner loops vectorise.
/// </summary>
public sealed partial class CpuBackend
{
    public void PointwiseForward(Tensor x, Tensor w, Tensor y, PointwiseSpec spec) =>
        ByType(y.DType, () => PointwiseForwardKernel<float>(x, w, y, spec), () => PointwiseForwardKernel<double>(x, w, y, spec));

    public void PointwiseBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, PointwiseSpec spec) =>
        ByType(dy.DType, () => PointwiseBackwardKernel<float>(x, w, dy, dx, dw, spec), () => PointwiseBackwardKernel<double>(x, w, dy, dx, dw, spec));

    public void ChannelShuffleForward(Tensor x, Tensor y, int groups) =>
        ByType(y.DType, () => ChannelShuffleForwardKernel<float>(x, y, groups), () => ChannelShuffleForwardKernel<double>(x, y, groups));

    public void ChannelShuffleBackward(Tensor dy, Tensor dx, int groups) =>
        ByType(dx.DType, () => ChannelShuffleBackwardKernel<float>(dy, dx, groups), () => ChannelShuffleBackwardKernel<double>(dy, dx, groups));

    /// <summary>The sizes and index tables shared by the pointwise forward and backward kernels.</summary>
    private readonly struct PointwiseLayout
    {
        public PointwiseLayout(Tensor x, Tensor w, PointwiseSpec spec)
        {
            Cin = x.Shape[-1];
            Cout = w.Shape[0];
            Rows = Cin == 0 ? 0 : (int)(x.Count / Cin);
            CinPerGroup = Cin / spec.Groups;
            CoutPerGroup = Cout / spec.Groups;
            InputSource = ChannelPermutation.SourceTable(Cin, spec.InputShuffle);
            OutputDestination = ChannelPermutation.DestinationTable(Cout, spec.OutputShuffle);
            InputContiguous = ChannelPermutation.IsIdentity(Cin, spec.InputShuffle);
        }

        public int Rows { get; }              // M = N·H·W
        public int Cin { get; }
        public int Cout { get; }
        public int CinPerGroup { get; }
        public int CoutPerGroup { get; }
        public int[] InputSource { get; }     // [Cin]: conv input channel c reads x channel InputSource[c]
        public int[] OutputDestination { get; } // [Cout]: conv output channel o is written to y channel OutputDestination[o]
        public bool InputContiguous { get; }  // InputSource is the identity: a group's inputs are one contiguous slice of x
    }

    // y[m, dest(o)] = Σ_k w[o, k] · x[m, src(g(o)·Cin/G + k)]
    private static void PointwiseForwardKernel<T>(Tensor x, Tensor w, Tensor y, PointwiseSpec spec) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var layout = new PointwiseLayout(x, w, spec);
        Memory<T> mx = Memory<T>(x);  // x [M, Cin]
        Memory<T> mw = Memory<T>(w);  // w [Cout, Cin/G]
        Memory<T> my = Memory<T>(y);  // y [M, Cout]
        int cin = layout.Cin, cout = layout.Cout, cinG = layout.CinPerGroup, coutG = layout.CoutPerGroup;
        int[] inSource = layout.InputSource, outDest = layout.OutputDestination;
        bool contiguous = layout.InputContiguous;

        ParallelOverRowBlocks(layout.Rows, (long)cout * cinG, (start, end) =>
        {
            ReadOnlySpan<T> sx = mx.Span, sw = mw.Span;
            Span<T> sy = my.Span;
            for (int m = start; m < end; m++)
            {
                ReadOnlySpan<T> xRow = sx.Slice(m * cin, cin);
                Span<T> yRow = sy.Slice(m * cout, cout);
                for (int o = 0; o < cout; o++)
                {
                    int c0 = o / coutG * cinG; // first conv input channel of o's group
                    ReadOnlySpan<T> wRow = sw.Slice(o * cinG, cinG);
                    yRow[outDest[o]] = contiguous
                        ? SpanMath.Dot(wRow, xRow.Slice(c0, cinG))
                        : SpanMath.GatherDot(wRow, xRow, inSource.AsSpan(c0, cinG));
                }
            }
        });
    }

    // dx[m, src(g(o)·Cin/G + k)] += Σ_o w[o, k] · dy[m, dest(o)]
    // dw[o, k]                   += Σ_m dy[m, dest(o)] · x[m, src(g(o)·Cin/G + k)]
    private static void PointwiseBackwardKernel<T>(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, PointwiseSpec spec) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var layout = new PointwiseLayout(x, w, spec);
        if (dx is not null) PointwiseInputGradient<T>(layout, w, dy, dx);
        if (dw is not null) PointwiseWeightGradient<T>(layout, x, dy, dw);
    }

    // The transposed convolution, row by row: each row of dx belongs to one thread.
    private static void PointwiseInputGradient<T>(PointwiseLayout layout, Tensor w, Tensor dy, Tensor dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Memory<T> mw = Memory<T>(w);   // w  [Cout, Cin/G]
        Memory<T> mdy = Memory<T>(dy); // dy [M, Cout]
        Memory<T> mdx = Memory<T>(dx); // dx [M, Cin]
        int cin = layout.Cin, cout = layout.Cout, cinG = layout.CinPerGroup, coutG = layout.CoutPerGroup;
        int[] inSource = layout.InputSource, outDest = layout.OutputDestination;
        bool contiguous = layout.InputContiguous;

        ParallelOverRowBlocks(layout.Rows, (long)cout * cinG, (start, end) =>
        {
            ReadOnlySpan<T> sw = mw.Span, sdy = mdy.Span;
            Span<T> sdx = mdx.Span;
            for (int m = start; m < end; m++)
            {
                ReadOnlySpan<T> dyRow = sdy.Slice(m * cout, cout);
                Span<T> dxRow = sdx.Slice(m * cin, cin);
                for (int o = 0; o < cout; o++)
                {
                    int c0 = o / coutG * cinG;
                    T d = dyRow[outDest[o]];
                    ReadOnlySpan<T> wRow = sw.Slice(o * cinG, cinG);
                    if (contiguous) SpanMath.AddScaled(d, wRow, dxRow.Slice(c0, cinG));
                    else SpanMath.ScatterAddScaled(d, wRow, dxRow, inSource.AsSpan(c0, cinG));
                }
            }
        });
    }

    // A reduction over all M rows. Threads own disjoint blocks of output channels, so each dw
    // element is summed by one thread, over m in ascending order: deterministic whatever the
    // thread count. Rows are visited in tiles so that a tile of x stays in cache while the
    // block's output channels all read it.
    private static void PointwiseWeightGradient<T>(PointwiseLayout layout, Tensor x, Tensor dy, Tensor dw) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Memory<T> mx = Memory<T>(x);   // x  [M, Cin]
        Memory<T> mdy = Memory<T>(dy); // dy [M, Cout]
        Memory<T> mdw = Memory<T>(dw); // dw [Cout, Cin/G]
        int rows = layout.Rows, cin = layout.Cin, cout = layout.Cout, cinG = layout.CinPerGroup, coutG = layout.CoutPerGroup;
        int[] inSource = layout.InputSource, outDest = layout.OutputDestination;
        bool contiguous = layout.InputContiguous;
        int tileRows = Math.Max(1, 16384 / Math.Max(1, cin)); // a tile of x [tileRows, Cin]: 64 KiB of floats, L2-resident

        long work = (long)rows * cout * cinG;
        int blocks = work < ParallelWorkThreshold ? 1 : Math.Min(cout, Environment.ProcessorCount);
        Action<int> block = b =>
        {
            int oStart = (int)((long)b * cout / blocks), oEnd = (int)((long)(b + 1) * cout / blocks);
            ReadOnlySpan<T> sx = mx.Span, sdy = mdy.Span;
            Span<T> sdw = mdw.Span;
            for (int tile = 0; tile < rows; tile += tileRows)
            {
                int tileEnd = Math.Min(rows, tile + tileRows);
                for (int o = oStart; o < oEnd; o++)
                {
                    int c0 = o / coutG * cinG;
                    int yo = outDest[o];
                    Span<T> dwRow = sdw.Slice(o * cinG, cinG);
                    for (int m = tile; m < tileEnd; m++)
                    {
                        T d = sdy[m * cout + yo];
                        if (contiguous) SpanMath.AddScaled(d, sx.Slice(m * cin + c0, cinG), dwRow);
                        else SpanMath.GatherAddScaled(d, sx.Slice(m * cin, cin), inSource.AsSpan(c0, cinG), dwRow);
                    }
                }
            }
        };
        if (blocks <= 1) block(0);
        else Parallel.For(0, blocks, block);
    }

    // y[r, d] = x[r, src(d)] over rows r of the last axis
    private static void ChannelShuffleForwardKernel<T>(Tensor x, Tensor y, int groups) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int channels = x.Shape[-1];
        int rows = channels == 0 ? 0 : (int)(x.Count / channels);
        int[] source = ChannelPermutation.SourceTable(channels, groups);
        Memory<T> mx = Memory<T>(x); // x [.., C]
        Memory<T> my = Memory<T>(y); // y [.., C]
        ParallelOverRowBlocks(rows, channels, (start, end) =>
        {
            ReadOnlySpan<T> sx = mx.Span;
            Span<T> sy = my.Span;
            for (int r = start; r < end; r++)
            {
                ReadOnlySpan<T> xRow = sx.Slice(r * channels, channels);
                Span<T> yRow = sy.Slice(r * channels, channels);
                for (int d = 0; d < channels; d++) yRow[d] = xRow[source[d]];
            }
        });
    }

    // dx[r, src(d)] += dy[r, d]: the inverse permutation, as a scatter through the same table
    private static void ChannelShuffleBackwardKernel<T>(Tensor dy, Tensor dx, int groups) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int channels = dx.Shape[-1];
        int rows = channels == 0 ? 0 : (int)(dx.Count / channels);
        int[] source = ChannelPermutation.SourceTable(channels, groups);
        Memory<T> mdy = Memory<T>(dy); // dy [.., C]
        Memory<T> mdx = Memory<T>(dx); // dx [.., C]
        ParallelOverRowBlocks(rows, channels, (start, end) =>
        {
            ReadOnlySpan<T> sdy = mdy.Span;
            Span<T> sdx = mdx.Span;
            for (int r = start; r < end; r++)
            {
                ReadOnlySpan<T> dyRow = sdy.Slice(r * channels, channels);
                Span<T> dxRow = sdx.Slice(r * channels, channels);
                for (int d = 0; d < channels; d++) dxRow[source[d]] += dyRow[d];
            }
        });
    }

    /// <summary>Below this many multiply-adds a kernel runs on the calling thread: the tensors of
    /// small nets and of tests are cheaper to compute than to hand out to the thread pool.</summary>
    private const long ParallelWorkThreshold = 1 << 15;

    /// <summary>Runs body(start, end) over disjoint blocks of [0, rows) in parallel, each block with
    /// at least <see cref="ParallelWorkThreshold"/> work where the total allows it.</summary>
    private static void ParallelOverRowBlocks(int rows, long workPerRow, Action<int, int> body)
    {
        if (rows == 0) return;
        long total = rows * Math.Max(1, workPerRow);
        int blocks = (int)Math.Min(Math.Min(total / ParallelWorkThreshold, rows), 4L * Environment.ProcessorCount);
        if (blocks <= 1)
        {
            body(0, rows);
            return;
        }
        Parallel.For(0, blocks, b => body((int)((long)b * rows / blocks), (int)((long)(b + 1) * rows / blocks)));
    }
}
