using Igcv3.Engine;

namespace Igcv3.Kernels.Cuda;

// pointwise.cu: the grouped 1x1 convolution with fused IGC permutations as three tiled SGEMMs,
// and the explicit channel shuffle. x [M, Cin] (M = N·H·W), w [Cout, Kg], y [M, Cout],
// Kg = Cin/groups, Ng = Cout/groups.
public sealed partial class CudaBackend
{
    private readonly record struct PointwiseGeometry(int M, int Cin, int Cout, int Groups, int InShuffle, int OutShuffle)
    {
        public int Kg => Cin / Groups;

        public int Ng => Cout / Groups;
    }

    private static PointwiseGeometry CheckPointwise(Tensor x, Tensor w, Tensor y, PointwiseSpec spec)
    {
        const string op = "pointwise (cuda)";
        int cin = x.Shape[-1], cout = w.Shape[0], groups = spec.Groups;
        if (groups <= 0 || cin % groups != 0 || cout % groups != 0) throw new ArgumentException($"{op}: groups {groups} must divide Cin {cin} and Cout {cout}");
        if (groups > 65535) throw new NotSupportedException($"{op}: {groups} groups exceed the 65535 blocks of gridDim.z");
        if (spec.InputShuffle > 1 && cin % spec.InputShuffle != 0) throw new ArgumentException($"{op}: input shuffle {spec.InputShuffle} must divide Cin {cin}");
        if (spec.OutputShuffle > 1 && cout % spec.OutputShuffle != 0) throw new ArgumentException($"{op}: output shuffle {spec.OutputShuffle} must divide Cout {cout}");
        if (w.Count != (long)cout * (cin / groups)) throw new ArgumentException($"{op}: w {w.Shape} must be [Cout, Cin/groups] = [{cout}, {cin / groups}]");
        CheckedCount(op, x.Count, "x");
        CheckedCount(op, y.Count, "y");
        int m = cin == 0 ? 0 : (int)(x.Count / cin);
        if (y.Count != (long)m * cout) throw new ArgumentException($"{op}: y {y.Shape} must hold {m} rows of {cout}");
        return new(m, cin, cout, groups, Math.Max(0, spec.InputShuffle), Math.Max(0, spec.OutputShuffle));
    }

    /// <summary>y = P(Gout)·conv1x1_groups(P(Gin)·x) (overwrite); with <paramref name="statistics"/>,
    /// y's batch statistics accumulated in the tiled kernel's epilogue (not where cuBLAS runs it).</summary>
    public void PointwiseForward(Tensor x, Tensor w, Tensor y, PointwiseSpec spec, BatchStatistics? statistics = null)
    {
        Enter();
        var g = CheckPointwise(x, w, y, spec);
        statistics?.CheckFor("pointwise (cuda)", y);
        if (g.M == 0 || g.Cout == 0) return; // (Cin = 0 means M = 0: no empty matrix reaches cuBLAS)
        var how = PointwiseGemm == PointwiseGemm.Auto ? TunedForward(x, w, y, g) : PointwiseGemm;
        if (how == PointwiseGemm.Tiled && statistics is not null && g.M >= 2)
        {
            PointwiseForwardWithStatistics(x, w, y, g, statistics);
            return;
        }
        PointwiseForward(how, x, w, y, g);
    }

    /// <summary>The tiled forward with the batch statistics of y in its epilogue: each block takes
    /// several 64-row tiles, so few row blocks leave partials for each column tile's last block.</summary>
    private void PointwiseForwardWithStatistics(Tensor x, Tensor w, Tensor y, PointwiseGeometry g, BatchStatistics statistics)
    {
        int bn = GemmTiles.Tile(g.Ng), tilesN = GemmTiles.CeilDiv(g.Ng, bn);
        int rowBlocks = GemmTiles.StatisticsRowBlocks(g.M, tilesN * g.Groups, Multiprocessors);
        using var partial = Scratch("pointwise forward", 2L * rowBlocks * g.Cout, sizeof(double)); // [rowBlocks, 2, Cout] doubles
        Launch(CudaKernels.PointwiseForward[bn], new Dim3((uint)rowBlocks, (uint)tilesN, (uint)g.Groups),
            [F32(x), F32(w), F32(y), g.M, g.Cin, g.Cout, g.Groups, g.InShuffle, g.OutShuffle,
             .. BatchStatisticsArguments(partial.Pointer, tilesN * g.Groups, statistics)]);
        statistics.MarkComputed();
    }

    /// <summary>dx += Wᵀ-product, dw += Σ_m products (both through the same permutations).</summary>
    public void PointwiseBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, PointwiseSpec spec)
    {
        Enter();
        var g = CheckPointwise(x, w, dy, spec);
        if (dx is not null && dx.Count != x.Count) throw new ArgumentException($"pointwise backward: dx {dx.Shape} must match x {x.Shape}");
        if (dw is not null && dw.Count != w.Count) throw new ArgumentException($"pointwise backward: dw {dw.Shape} must match w {w.Shape}");
        if (g.M == 0 || g.Cin == 0 || g.Cout == 0)
        {
            ZeroUnwritten(dx, dw); // every gradient is an empty sum: += 0, or = 0
            return;
        }
        if (dx is null && dw is null) return;
        var how = PointwiseGemm == PointwiseGemm.Auto ? TunedBackward(x, w, dy, dx, dw, g) : PointwiseGemm;
        PointwiseBackward(how, x, w, dy, dx, dw, g);
    }

    private void PointwiseForward(PointwiseGemm how, Tensor x, Tensor w, Tensor y, PointwiseGeometry g)
    {
        if (how == PointwiseGemm.Cublas)
        {
            PointwiseForwardCublas(x, w, y, g);
            return;
        }
        // grid = (ceil(M / 64), ceil(Ng / BN), groups), BN = tile(Ng); Kg = 0 writes zeros (an empty sum).
        int bn = GemmTiles.Tile(g.Ng);
        Launch(CudaKernels.PointwiseForward[bn], new Dim3((uint)GemmTiles.CeilDiv(g.M, GemmTiles.RowTile), (uint)GemmTiles.CeilDiv(g.Ng, bn), (uint)g.Groups),
            [F32(x), F32(w), F32(y), g.M, g.Cin, g.Cout, g.Groups, g.InShuffle, g.OutShuffle, .. NoBatchStatistics]);
    }

    private void PointwiseBackward(PointwiseGemm how, Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, PointwiseGeometry g)
    {
        if (how == PointwiseGemm.Cublas)
        {
            PointwiseBackwardCublas(x, w, dy, dx, dw, g);
            return;
        }
        if (dx is not null)
        {
            // dx += ...; grid = (ceil(M / 64), ceil(Kg / BN), groups), BN = tile(Kg).
            int bn = GemmTiles.Tile(g.Kg);
            Launch(CudaKernels.PointwiseBackwardData[bn], new Dim3((uint)GemmTiles.CeilDiv(g.M, GemmTiles.RowTile), (uint)GemmTiles.CeilDiv(g.Kg, bn), (uint)g.Groups),
                F32(dy), F32(w), F32(dx), g.M, g.Cin, g.Cout, g.Groups, g.InShuffle, g.OutShuffle, AccumulateFlag(dx));
        }
        if (dw is not null)
        {
            // BM = tile(Ng), BN = tile(Kg); the M rows cut into splits, each writing its own slice of
            // partial [splits, Cout, Kg]; each tile's last split sums its slices in order into dw.
            int bm = GemmTiles.Tile(g.Ng), bn = GemmTiles.Tile(g.Kg);
            int tilesN = GemmTiles.CeilDiv(g.Ng, bm), tilesK = GemmTiles.CeilDiv(g.Kg, bn);
            var (splits, rowsPerSplit) = GemmTiles.Splits(g.M, tilesN * tilesK, g.Groups, Multiprocessors, GemmTiles.RowTile);
            int count = g.Cout * g.Kg;
            using var partial = Scratch("pointwise backward", (long)splits * count, sizeof(float));
            Launch(CudaKernels.PointwiseBackwardWeight[(bm, bn)], new Dim3((uint)tilesN, (uint)tilesK, (uint)(g.Groups * splits)),
                F32(dy), F32(x), partial.Pointer, Tickets(tilesN * tilesK * g.Groups), F32(dw),
                g.M, g.Cin, g.Cout, g.Groups, g.InShuffle, g.OutShuffle, splits, rowsPerSplit, AccumulateFlag(dw));
        }
    }

    /// <summary>y[r, j·G + g] = x[r, g·(C/G) + j] (overwrite).</summary>
    public void ChannelShuffleForward(Tensor x, Tensor y, int groups)
    {
        Enter();
        var (rows, channels) = CheckShuffle(x, y, groups);
        if (rows == 0 || channels == 0) return;
        LaunchShuffle(CudaKernels.ChannelShuffleForward, F32(x), F32(y), rows, channels, groups);
    }

    /// <summary>dx += P(G)⁻¹(dy).</summary>
    public void ChannelShuffleBackward(Tensor dy, Tensor dx, int groups)
    {
        Enter();
        var (rows, channels) = CheckShuffle(dx, dy, groups);
        if (rows == 0 || channels == 0) return;
        LaunchShuffle(CudaKernels.ChannelShuffleBackward, F32(dy), F32(dx), rows, channels, groups, AccumulateFlag(dx));
    }

    /// <summary>channel_shuffle_forward (target = P(G)·source) or _backward (target += P(G)ᵀ·source,
    /// or = when <paramref name="accumulate"/> is 0) over [rows, C]: a grid-stride loop over rows·C elements.</summary>
    private void LaunchShuffle(KernelSignature kernel, DevicePointer source, DevicePointer target, int rows, int channels, int groups, int? accumulate = null)
    {
        var grid = new Dim3(GemmTiles.StrideGrid((long)rows * channels, BlockThreads, 4096));
        if (accumulate is int a) Launch(kernel, grid, source, target, rows, channels, Math.Max(0, groups), a);
        else Launch(kernel, grid, source, target, rows, channels, Math.Max(0, groups));
    }

    private static (int Rows, int Channels) CheckShuffle(Tensor a, Tensor b, int groups)
    {
        const string op = "channel_shuffle (cuda)";
        if (a.Shape.Rank == 0 || a.Count != b.Count) throw new ArgumentException($"{op}: {a.Shape} and {b.Shape} must have one count and a channel axis");
        if (Overlap(a, b)) throw new ArgumentException($"{op}: input and output must not share memory (the kernel gathers)");
        int channels = a.Shape[-1];
        if (groups > 1 && channels % groups != 0) throw new ArgumentException($"{op}: groups {groups} must divide {channels} channels");
        CheckedCount(op, a.Count, "x");
        return (channels == 0 ? 0 : (int)(a.Count / channels), channels);
    }

    /// <summary>Whether two views share any element of one storage.</summary>
    private static bool Overlap(Tensor a, Tensor b) =>
        ReferenceEquals(a.Storage, b.Storage) && a.Offset < b.Offset + b.Count && b.Offset < a.Offset + a.Count;
}
