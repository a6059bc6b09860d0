using Igcv3.Engine;

namespace Igcv3.Kernels.Cuda;

// conv2d.cu: implicit-GEMM grouped convolution. x [N, H, W, Cin], w OHWI [Cout, K, K, Cig],
// y [N, Ho, Wo, Cout], Cig = Cin/groups, Cog = Cout/groups, R = K·K·Cig. Every kernel takes the
// geometry (N, H, W, Cin, Cout, K, S, P, groups) with H, W the INPUT sizes.
public sealed partial class CudaBackend
{
    private readonly record struct ConvGeometry(int N, int H, int W, int Cin, int Cout, int K, int S, int P, int Groups)
    {
        public int Ho => (H + 2 * P - K) / S + 1;

        public int Wo => (W + 2 * P - K) / S + 1;

        public int Cig => Cin / Groups;

        public int Cog => Cout / Groups;

        public int R => K * K * Cig;
    }

    private static ConvGeometry CheckConv(Tensor x, Tensor w, Tensor y, Conv2dSpec spec)
    {
        const string op = "conv2d (cuda)";
        if (x.Shape.Rank != 4 || w.Shape.Rank != 4 || y.Shape.Rank != 4) throw new ArgumentException($"{op}: x {x.Shape}, w {w.Shape}, y {y.Shape} must be rank 4");
        var g = new ConvGeometry(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], w.Shape[0], spec.Kernel, spec.Stride, spec.Padding, spec.Groups);
        if (g.K <= 0 || g.S <= 0 || g.P < 0 || g.Groups <= 0) throw new ArgumentException($"{op}: invalid {spec}");
        if (g.Cin % g.Groups != 0 || g.Cout % g.Groups != 0) throw new ArgumentException($"{op}: groups {g.Groups} must divide Cin {g.Cin} and Cout {g.Cout}");
        if (g.Groups > 65535) throw new NotSupportedException($"{op}: {g.Groups} groups exceed the 65535 blocks of gridDim.z");
        if (g.H + 2 * g.P < g.K || g.W + 2 * g.P < g.K) throw new ArgumentException($"{op}: kernel {g.K} is larger than x {x.Shape} padded by {g.P}");
        if (w.Shape != new Shape(g.Cout, g.K, g.K, g.Cig)) throw new ArgumentException($"{op}: w {w.Shape} must be [{g.Cout}, {g.K}, {g.K}, {g.Cig}]");
        if (y.Shape != new Shape(g.N, g.Ho, g.Wo, g.Cout)) throw new ArgumentException($"{op}: y {y.Shape} must be [{g.N}, {g.Ho}, {g.Wo}, {g.Cout}]");
        CheckedCount(op, x.Count, "x");
        CheckedCount(op, y.Count, "y");
        CheckedCount(op, w.Count, "w");
        return g;
    }

    /// <summary>y = conv(x, w) (overwrite).</summary>
    public void Conv2dForward(Tensor x, Tensor w, Tensor y, Conv2dSpec spec)
    {
        Enter();
        var g = CheckConv(x, w, y, spec);
        if (y.Count == 0) return;
        // grid = (ceil(N·Ho·Wo / 64), ceil(Cog / BN), groups), BN = tile(Cog).
        int bn = GemmTiles.Tile(g.Cog);
        long pixels = (long)g.N * g.Ho * g.Wo;
        Launch(CudaKernels.Conv2dForward[bn], new Dim3((uint)GemmTiles.CeilDiv(pixels, GemmTiles.RowTile), (uint)GemmTiles.CeilDiv(g.Cog, bn), (uint)g.Groups),
            F32(x), F32(w), F32(y), g.N, g.H, g.W, g.Cin, g.Cout, g.K, g.S, g.P, g.Groups);
    }

    /// <summary>dx += conv_transposed(dy, w); dw += Σ dy ⊗ patches(x).</summary>
    public void Conv2dBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, Conv2dSpec spec)
    {
        Enter();
        var g = CheckConv(x, w, dy, spec);
        if (dy.Count == 0 || x.Count == 0)
        {
            ZeroUnwritten(dx, dw);
            return;
        }
        if (dx is not null)
        {
            if (dx.Shape != x.Shape) throw new ArgumentException($"conv2d backward: dx {dx.Shape} must match x {x.Shape}");
            // dx += ...; grid = (ceil(N·H·W / 64), ceil(Cig / BN), groups), BN = tile(Cig). This kernel
            // only accumulates: an overwrite flag cost its 64x32 and 64x64 tiles spills on sm_80/sm_90
            // (ptxas), so an unwritten dx is zeroed first. No IGCV3 or MobileNetV2 step computes a
            // conv2d input gradient (the stem's is not needed); the IGCV1 networks pay one memset each.
            ZeroUnwritten(dx);
            int bn = GemmTiles.Tile(g.Cig);
            long pixels = (long)g.N * g.H * g.W;
            Launch(CudaKernels.Conv2dBackwardData[bn], new Dim3((uint)GemmTiles.CeilDiv(pixels, GemmTiles.RowTile), (uint)GemmTiles.CeilDiv(g.Cig, bn), (uint)g.Groups),
                F32(dy), F32(w), F32(dx), g.N, g.H, g.W, g.Cin, g.Cout, g.K, g.S, g.P, g.Groups);
        }
        if (dw is not null)
        {
            if (dw.Shape != w.Shape) throw new ArgumentException($"conv2d backward: dw {dw.Shape} must match w {w.Shape}");
            // BM = tile(Cog), BN = tile(R); the N·Ho·Wo output pixels cut into splits that each
            // overwrite their slice of partial [splits, Cout, R]; each tile's last split adds them into dw.
            int bm = GemmTiles.Tile(g.Cog), bn = GemmTiles.Tile(g.R);
            int tilesO = GemmTiles.CeilDiv(g.Cog, bm), tilesR = GemmTiles.CeilDiv(g.R, bn);
            int pixels = CheckedCount("conv2d backward", (long)g.N * g.Ho * g.Wo, "the output pixels");
            var (splits, rowsPerSplit) = GemmTiles.Splits(pixels, tilesO * tilesR, g.Groups, Multiprocessors, GemmTiles.RowTile);
            int count = g.Cout * g.R;
            using var partial = Scratch("conv2d backward", (long)splits * count, sizeof(float));
            Launch(CudaKernels.Conv2dBackwardWeight[(bm, bn)], new Dim3((uint)tilesO, (uint)tilesR, (uint)(g.Groups * splits)),
                F32(dy), F32(x), partial.Pointer, Tickets(tilesO * tilesR * g.Groups), F32(dw),
                g.N, g.H, g.W, g.Cin, g.Cout, g.K, g.S, g.P, g.Groups, splits, rowsPerSplit, AccumulateFlag(dw));
        }
    }
}
