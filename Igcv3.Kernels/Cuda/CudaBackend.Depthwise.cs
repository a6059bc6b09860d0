using Igcv3.Engine;

namespace Igcv3.Kernels.Cuda;

// depthwise.cu: 3x3, padding 1, stride 1 or 2. x [N, H, W, C], w [C, 3, 3], y [N, Ho, Wo, C],
// Ho = (H − 1)/S + 1. Threads take strips of 4 output columns and 4 channels (1 when C % 4 ≠ 0).
public sealed partial class CudaBackend
{
    private readonly record struct DepthwiseGeometry(int N, int H, int W, int C, int Stride)
    {
        public int Ho => (H - 1) / Stride + 1;

        public int Wo => (W - 1) / Stride + 1;

        /// <summary>Channel items per pixel: quads when C % 4 == 0, single channels otherwise.</summary>
        public long ChannelItems => C % 4 == 0 ? C / 4 : C;
    }

    private static DepthwiseGeometry CheckDepthwise(Tensor x, Tensor w, Tensor y, int stride)
    {
        const string op = "depthwise (cuda)";
        if (x.Shape.Rank != 4 || y.Shape.Rank != 4) throw new ArgumentException($"{op}: x {x.Shape} and y {y.Shape} must be [N, H, W, C]");
        if (stride is not (1 or 2)) throw new ArgumentException($"{op}: stride must be 1 or 2, got {stride}");
        var g = new DepthwiseGeometry(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], stride);
        if (w.Count != 9L * g.C) throw new ArgumentException($"{op}: w {w.Shape} must be [{g.C}, 3, 3]");
        if (g.H > 0 && g.W > 0 && y.Shape != new Shape(g.N, g.Ho, g.Wo, g.C)) throw new ArgumentException($"{op}: y {y.Shape} must be [{g.N}, {g.Ho}, {g.Wo}, {g.C}]");
        CheckedCount(op, x.Count, "x");
        CheckedCount(op, y.Count, "y");
        return g;
    }

    /// <summary>y = depthwise3x3(x) (overwrite).</summary>
    public void DepthwiseForward(Tensor x, Tensor w, Tensor y, int stride, BatchStatistics? statistics = null)
    {
        Enter();
        var g = CheckDepthwise(x, w, y, stride);
        statistics?.CheckFor("depthwise (cuda)", y);
        if (y.Count == 0) return;
        if (statistics is not null && y.Count >= 2L * g.C)
        {
            DepthwiseForwardWithStatistics(x, w, y, g, statistics);
            return;
        }
        // grid = min(ceil(N·Ho·ceil(Wo/4)·channelItems / 256), 65535), grid-stride.
        long items = (long)g.N * g.Ho * GemmTiles.CeilDiv(g.Wo, 4) * g.ChannelItems;
        Launch(CudaKernels.DepthwiseForward, new Dim3(GemmTiles.StrideGrid(items, BlockThreads, 65535)),
            [F32(x), F32(w), F32(y), g.N, g.H, g.W, g.C, g.Stride, .. NoBatchStatistics]);
    }

    /// <summary>The forward with y's batch statistics accumulated as it is written: blocks of channel
    /// lanes × strip planes, the grid (channel slices, splits) as depthwise.cu's contract derives it.</summary>
    private void DepthwiseForwardWithStatistics(Tensor x, Tensor w, Tensor y, DepthwiseGeometry g, BatchStatistics statistics)
    {
        bool vec = g.C % 4 == 0 && Address(x) % 16 == 0 && Address(y) % 16 == 0; // the kernel's float4 test
        int items = vec ? g.C / 4 : g.C;
        int lanes = 32;
        while (lanes > 1 && lanes > items) lanes /= 2; // dw_stat_lanes
        int slices = GemmTiles.CeilDiv(items, lanes);
        long strips = (long)g.N * g.Ho * GemmTiles.CeilDiv(g.Wo, 4);
        int splits = (int)Math.Clamp(GemmTiles.CeilDiv(4L * Multiprocessors, slices), 1, Math.Min(256, GemmTiles.CeilDiv(strips, BlockThreads / lanes)));
        using var partial = Scratch("depthwise forward", 2L * splits * g.C, sizeof(double)); // [splits, 2, C] doubles
        Launch(CudaKernels.DepthwiseForward, new Dim3((uint)slices, (uint)splits),
            [F32(x), F32(w), F32(y), g.N, g.H, g.W, g.C, g.Stride, .. BatchStatisticsArguments(partial.Pointer, slices, statistics)]);
        statistics.MarkComputed();
    }

    /// <summary>dx += transposed depthwise3x3(dy); dw += Σ dy·x per tap.</summary>
    public void DepthwiseBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, int stride)
    {
        Enter();
        var g = CheckDepthwise(x, w, dy, stride);
        if (x.Count == 0)
        {
            ZeroUnwritten(dw); // an empty sum (dx is empty too)
            return;
        }
        if (dx is not null)
        {
            if (dx.Count != x.Count) throw new ArgumentException($"depthwise backward: dx {dx.Shape} must match x {x.Shape}");
            // H, W are the input sizes; grid = min(ceil(N·H·ceil(W/4)·channelItems / 256), 65535).
            long items = (long)g.N * g.H * GemmTiles.CeilDiv(g.W, 4) * g.ChannelItems;
            Launch(CudaKernels.DepthwiseBackwardData, new Dim3(GemmTiles.StrideGrid(items, BlockThreads, 65535)),
                F32(dy), F32(w), F32(dx), g.N, g.H, g.W, g.C, g.Stride, AccumulateFlag(dx));
        }
        if (dw is not null)
        {
            if (dw.Count != w.Count) throw new ArgumentException($"depthwise backward: dw {dw.Shape} must match w {w.Shape}");
            // grid = (ceil(C/32), splits), splits = clamp(ceil(4·SMs / ceil(C/32)), 1, ceil(strips / 8));
            // each block overwrites partial [splits, C, 9]; each c-slice's last split adds them in order into dw.
            int channelBlocks = GemmTiles.CeilDiv(g.C, 32);
            long strips = (long)g.N * g.Ho * GemmTiles.CeilDiv(g.Wo, 4);
            int splits = (int)Math.Clamp(GemmTiles.CeilDiv(4L * Multiprocessors, channelBlocks), 1, Math.Min(65535, Math.Max(1, (strips + 7) / 8)));
            int count = 9 * g.C;
            using var partial = Scratch("depthwise backward", (long)splits * count, sizeof(float));
            Launch(CudaKernels.DepthwiseBackwardWeight, new Dim3((uint)channelBlocks, (uint)splits),
                F32(dy), F32(x), partial.Pointer, Tickets(channelBlocks), F32(dw), g.N, g.H, g.W, g.C, g.Stride, AccumulateFlag(dw));
        }
    }
}
