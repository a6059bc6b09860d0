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
/// A permuted row is gathered once into conv order (a scratch row of C elements), so the inner
/// loops always run over contiguous runs and vectorise; with identity permutations nothing is copied.
/// </summary>
public sealed partial class CpuBackend
{
    public void PointwiseForward(Tensor x, Tensor w, Tensor y, PointwiseSpec spec, BatchStatistics? statistics = null)
    {
        statistics?.CheckFor("pointwise (cpu)", y);
        ByType(y.DType, () => PointwiseForwardKernel<float>(x, w, y, spec), () => PointwiseForwardKernel<double>(x, w, y, spec));
        ComputeBatchStatistics(y, statistics); // a pass of its own here: the CPU reference of the fused epilogue
    }

    public void PointwiseBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, PointwiseSpec spec)
    {
        ZeroUnwritten(dx, dw);
        ByType(dy.DType, () => PointwiseBackwardKernel<float>(x, w, dy, dx, dw, spec), () => PointwiseBackwardKernel<double>(x, w, dy, dx, dw, spec));
    }

    public void ChannelShuffleForward(Tensor x, Tensor y, int groups) =>
        ByType(y.DType, () => ChannelShuffleForwardKernel<float>(x, y, groups), () => ChannelShuffleForwardKernel<double>(x, y, groups));

    public void ChannelShuffleBackward(Tensor dy, Tensor dx, int groups)
    {
        ZeroUnwritten(dx);
        ByType(dx.DType, () => ChannelShuffleBackwardKernel<float>(dy, dx, groups), () => ChannelShuffleBackwardKernel<double>(dy, dx, groups));
    }

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
            OutputContiguous = ChannelPermutation.IsIdentity(Cout, spec.OutputShuffle);
            AlongOutputs = CoutPerGroup >= CinPerGroup;
        }

        public int Rows { get; }              // M = N·H·W
        public int Cin { get; }
        public int Cout { get; }
        public int CinPerGroup { get; }
        public int CoutPerGroup { get; }
        public int[] InputSource { get; }     // [Cin]: conv input channel c reads x channel InputSource[c]
        public int[] OutputDestination { get; } // [Cout]: conv output channel o is written to y channel OutputDestination[o]
        public bool InputContiguous { get; }  // InputSource is the identity: a group's inputs are one contiguous slice of x
        public bool OutputContiguous { get; } // OutputDestination is the identity: conv outputs are y's channels in order
        // Which run the vector loops go along: a group's Cout/G outputs (through the transposed
        // weights wT) or its Cin/G inputs (through w itself). The longer: an expansion 12 → 72
        // per group vectorises along its outputs, a projection 72 → 12 along its inputs.
        public bool AlongOutputs { get; }
    }

    /// <summary>wT[c, j] = w[g(c)·Cout/G + j, c − g(c)·Cin/G]: the weights transposed so that conv
    /// input c's weights to the Cout/G outputs of its group are one contiguous run (the GEMM's B
    /// operand in row-major order, which the vector loops read along j).</summary>
    private static T[] TransposedPointwiseWeights<T>(PointwiseLayout layout, Tensor w) where T : unmanaged
    {
        ReadOnlySpan<T> sw = Span<T>(w); // w [Cout, Cin/G]
        int cinG = layout.CinPerGroup, coutG = layout.CoutPerGroup;
        var wT = new T[layout.Cin * coutG]; // wT [Cin, Cout/G]
        for (int o = 0; o < layout.Cout; o++)
        {
            int g = o / coutG, j = o % coutG;
            for (int k = 0; k < cinG; k++) wT[(g * cinG + k) * coutG + j] = sw[o * cinG + k];
        }
        return wT;
    }

    // u[c] = row[index[c]]: a row read through a permutation table into conv order.
    private static void Gather<T>(ReadOnlySpan<T> row, ReadOnlySpan<int> index, Span<T> u)
    {
        for (int c = 0; c < u.Length; c++) u[c] = row[index[c]];
    }

    // v[m, o] = Σ_k w[o, k] · x[m, src(g(o)·Cin/G + k)];  y[m, dest(o)] = v[m, o]
    // Along outputs: each group's run of v is its run of x times wT [Cin/G, Cout/G] (a register per
    // vector of outputs, summed over k); along inputs: each v[m, o] is a dot product of w's row o.
    private static void PointwiseForwardKernel<T>(Tensor x, Tensor w, Tensor y, PointwiseSpec spec) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var layout = new PointwiseLayout(x, w, spec);
        Memory<T> mx = Memory<T>(x);  // x [M, Cin]
        Memory<T> my = Memory<T>(y);  // y [M, Cout]
        Memory<T> mw = Memory<T>(w);  // w [Cout, Cin/G]
        bool alongOutputs = layout.AlongOutputs;
        T[] wT = alongOutputs ? TransposedPointwiseWeights<T>(layout, w) : []; // wT [Cin, Cout/G]
        int cin = layout.Cin, cout = layout.Cout, cinG = layout.CinPerGroup, coutG = layout.CoutPerGroup, groups = cout == 0 ? 0 : cout / coutG;
        int[] inSource = layout.InputSource, outDest = layout.OutputDestination;
        bool inContiguous = layout.InputContiguous, outContiguous = layout.OutputContiguous;

        ParallelBlocks.For(layout.Rows, (start, end) =>
        {
            ReadOnlySpan<T> sx = mx.Span, sw = mw.Span;
            Span<T> sy = my.Span;
            var u = new T[cin];  // x row in conv-input order (when the input is shuffled)
            var v = new T[cout]; // conv outputs in conv order (when the output is shuffled)
            for (int m = start; m < end; m++)
            {
                ReadOnlySpan<T> xRow = sx.Slice(m * cin, cin);
                if (!inContiguous)
                {
                    Gather(xRow, inSource, u);
                    xRow = u;
                }
                Span<T> yRow = sy.Slice(m * cout, cout);
                Span<T> vRow = outContiguous ? yRow : v;
                if (alongOutputs)
                {
                    for (int g = 0; g < groups; g++)
                    {
                        SpanMath.RowTimesMatrix(vRow.Slice(g * coutG, coutG), xRow.Slice(g * cinG, cinG), wT.AsSpan(g * cinG * coutG, cinG * coutG), coutG);
                    }
                }
                else
                {
                    for (int o = 0; o < cout; o++) vRow[o] = SpanMath.Dot(sw.Slice(o * cinG, cinG), xRow.Slice(o / coutG * cinG, cinG));
                }
                if (!outContiguous)
                {
                    for (int o = 0; o < cout; o++) yRow[outDest[o]] = v[o];
                }
            }
        }, workPerItem: (long)cout * cinG);
    }

    // dx[m, src(g(o)·Cin/G + k)] += Σ_o w[o, k] · dy[m, dest(o)]
    // dw[o, k]                   += Σ_m dy[m, dest(o)] · x[m, src(g(o)·Cin/G + k)]
    private static void PointwiseBackwardKernel<T>(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, PointwiseSpec spec) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var layout = new PointwiseLayout(x, w, spec);
        if (dx is not null) PointwiseInputGradient<T>(layout, w, dy, dx);
        if (dw is not null) PointwiseWeightGradient<T>(layout, x, dy, dw);
    }

    // The transposed convolution, row by row: each row of dx belongs to one thread. With
    // u[o] = dy[m, dest(o)] (conv order), conv input c gets the dot product of its group's run
    // of u with its run of wT.
    private static void PointwiseInputGradient<T>(PointwiseLayout layout, Tensor w, Tensor dy, Tensor dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Memory<T> mdy = Memory<T>(dy); // dy [M, Cout]
        Memory<T> mdx = Memory<T>(dx); // dx [M, Cin]
        Memory<T> mw = Memory<T>(w);   // w  [Cout, Cin/G]
        bool alongOutputs = layout.AlongOutputs;
        T[] wT = alongOutputs ? TransposedPointwiseWeights<T>(layout, w) : []; // wT [Cin, Cout/G]
        int cin = layout.Cin, cout = layout.Cout, cinG = layout.CinPerGroup, coutG = layout.CoutPerGroup;
        int[] inSource = layout.InputSource, outDest = layout.OutputDestination;
        bool inContiguous = layout.InputContiguous, outContiguous = layout.OutputContiguous;

        ParallelBlocks.For(layout.Rows, (start, end) =>
        {
            ReadOnlySpan<T> sdy = mdy.Span, sw = mw.Span;
            Span<T> sdx = mdx.Span;
            var u = new T[cout]; // dy row in conv-output order (when the output is shuffled)
            var du = new T[cin]; // this row's dx terms in conv-input order (along inputs)
            for (int m = start; m < end; m++)
            {
                ReadOnlySpan<T> dyRow = sdy.Slice(m * cout, cout);
                if (!outContiguous)
                {
                    Gather(dyRow, outDest, u);
                    dyRow = u;
                }
                Span<T> dxRow = sdx.Slice(m * cin, cin);
                if (alongOutputs)
                {
                    for (int c = 0; c < cin; c++)
                    {
                        T d = SpanMath.Dot(dyRow.Slice(c / cinG * coutG, coutG), wT.AsSpan(c * coutG, coutG));
                        dxRow[inContiguous ? c : inSource[c]] += d;
                    }
                }
                else
                {
                    // du[g·Cin/G + k] = Σ_{o in g} dy[o]·w[o, k], summed o ascending, then added to dx once
                    du.AsSpan().Clear();
                    for (int o = 0; o < cout; o++) SpanMath.MultiplyAdd(du.AsSpan(o / coutG * cinG, cinG), dyRow[o], sw.Slice(o * cinG, cinG));
                    if (inContiguous) SpanMath.Add<T>(dxRow, du);
                    else for (int c = 0; c < cin; c++) dxRow[inSource[c]] += du[c];
                }
            }
        }, workPerItem: (long)cout * cinG);
    }

    /// <summary>Rows of x and dy whose weight-gradient terms one task sums into its own partial.
    /// Fixed, not derived from the core count, so that the order of summation, and with it every
    /// bit of dw, is the same whatever the number of threads.</summary>
    private const int PointwiseRowsPerPartial = 256;

    // A reduction over all M rows. Each chunk of rows sums its outer products into its own
    // partial: along outputs dwT[c, j] += x[m, src(c)] · dy[m, dest(g(c)·Cout/G + j)] ([Cin, Cout/G],
    // runs along j), along inputs dw[o, k] += dy[m, dest(o)] · x[m, src(g(o)·Cin/G + k)] (runs along k); the partials are then added in chunk order, whatever order
    // the chunks ran in: deterministic whatever the thread count.
    private static void PointwiseWeightGradient<T>(PointwiseLayout layout, Tensor x, Tensor dy, Tensor dw) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Memory<T> mx = Memory<T>(x);   // x  [M, Cin]
        Memory<T> mdy = Memory<T>(dy); // dy [M, Cout]
        int rows = layout.Rows, cin = layout.Cin, cout = layout.Cout, cinG = layout.CinPerGroup, coutG = layout.CoutPerGroup;
        int[] inSource = layout.InputSource, outDest = layout.OutputDestination;
        bool inContiguous = layout.InputContiguous, outContiguous = layout.OutputContiguous;

        int chunks = (rows + PointwiseRowsPerPartial - 1) / PointwiseRowsPerPartial;
        bool alongOutputs = layout.AlongOutputs;
        var partials = new T[chunks][]; // partials [chunks][Cin, Cout/G] along outputs, [Cout, Cin/G] (dw's layout) along inputs
        ParallelBlocks.For(chunks, (first, last) =>
        {
            ReadOnlySpan<T> sx = mx.Span, sdy = mdy.Span;
            var xu = new T[cin];  // x row in conv-input order
            var du = new T[cout]; // dy row in conv-output order
            for (int chunk = first; chunk < last; chunk++)
            {
                var sums = new T[cin * coutG];
                int mEnd = Math.Min(rows, (chunk + 1) * PointwiseRowsPerPartial);
                for (int m = chunk * PointwiseRowsPerPartial; m < mEnd; m++)
                {
                    ReadOnlySpan<T> xRow = sx.Slice(m * cin, cin), dyRow = sdy.Slice(m * cout, cout);
                    if (!inContiguous)
                    {
                        Gather(xRow, inSource, xu);
                        xRow = xu;
                    }
                    if (!outContiguous)
                    {
                        Gather(dyRow, outDest, du);
                        dyRow = du;
                    }
                    if (alongOutputs)
                    {
                        for (int c = 0; c < cin; c++) SpanMath.MultiplyAdd(sums.AsSpan(c * coutG, coutG), xRow[c], dyRow.Slice(c / cinG * coutG, coutG));
                    }
                    else
                    {
                        for (int o = 0; o < cout; o++) SpanMath.MultiplyAdd(sums.AsSpan(o * cinG, cinG), dyRow[o], xRow.Slice(o / coutG * cinG, cinG));
                    }
                }
                partials[chunk] = sums;
            }
        }, workPerItem: (long)PointwiseRowsPerPartial * cout * cinG);

        // Summed in chunk order, then (along outputs) transposed back: dw[o, k] += Σ_chunks sums[g(o)·Cin/G + k, o − g(o)·Cout/G].
        var total = new T[cin * coutG];
        foreach (var sums in partials) SpanMath.Add<T>(total, sums);
        Span<T> sdw = Span<T>(dw); // dw [Cout, Cin/G]
        if (!alongOutputs)
        {
            SpanMath.Add<T>(sdw, total);
            return;
        }
        for (int o = 0; o < cout; o++)
        {
            int g = o / coutG, j = o % coutG;
            for (int k = 0; k < cinG; k++) sdw[o * cinG + k] += total[(g * cinG + k) * coutG + j];
        }
    }

    // y[r, d] = x[r, src(d)] over rows r of the last axis
    private static void ChannelShuffleForwardKernel<T>(Tensor x, Tensor y, int groups) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int channels = x.Shape[-1];
        int rows = channels == 0 ? 0 : (int)(x.Count / channels);
        int[] source = ChannelPermutation.SourceTable(channels, groups);
        Memory<T> mx = Memory<T>(x); // x [.., C]
        Memory<T> my = Memory<T>(y); // y [.., C]
        ParallelBlocks.For(rows, (start, end) =>
        {
            ReadOnlySpan<T> sx = mx.Span;
            Span<T> sy = my.Span;
            for (int r = start; r < end; r++)
            {
                ReadOnlySpan<T> xRow = sx.Slice(r * channels, channels);
                Span<T> yRow = sy.Slice(r * channels, channels);
                for (int d = 0; d < channels; d++) yRow[d] = xRow[source[d]];
            }
        }, workPerItem: channels);
    }

    // dx[r, src(d)] += dy[r, d]: the inverse permutation, as a scatter through the same table
    private static void ChannelShuffleBackwardKernel<T>(Tensor dy, Tensor dx, int groups) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int channels = dx.Shape[-1];
        int rows = channels == 0 ? 0 : (int)(dx.Count / channels);
        int[] source = ChannelPermutation.SourceTable(channels, groups);
        Memory<T> mdy = Memory<T>(dy); // dy [.., C]
        Memory<T> mdx = Memory<T>(dx); // dx [.., C]
        ParallelBlocks.For(rows, (start, end) =>
        {
            ReadOnlySpan<T> sdy = mdy.Span;
            Span<T> sdx = mdx.Span;
            for (int r = start; r < end; r++)
            {
                ReadOnlySpan<T> dyRow = sdy.Slice(r * channels, channels);
                Span<T> dxRow = sdx.Slice(r * channels, channels);
                for (int d = 0; d < channels; d++) dxRow[source[d]] += dyRow[d];
            }
        }, workPerItem: channels);
    }
}
