using Igcv3.Engine;

namespace Igcv3.Kernels.Cuda;

// pooling.cu: global average pooling x [N, H, W, C] → y [N, C], and max pooling with padding −∞.
public sealed partial class CudaBackend
{
    /// <summary>y[n, c] = Σ_{h,w} x[n, h, w, c] / (H·W) (overwrite).</summary>
    public void GlobalAvgPoolForward(Tensor x, Tensor y)
    {
        Enter();
        var (n, hw, c) = CheckGlobalPool(x, y);
        if (n == 0 || c == 0) return;
        if (hw == 0) throw new ArgumentException($"global_avg_pool (cuda): x {x.Shape} has no pixels to average");
        // grid = (ceil(C / 32), N): gridDim.y is limited to 65535, so larger batches go in chunks.
        for (int first = 0; first < n; first += 65535)
        {
            int images = Math.Min(65535, n - first);
            var xs = new DevicePointer(F32(x).Address + (ulong)((long)first * hw * c * sizeof(float)));
            var ys = new DevicePointer(F32(y).Address + (ulong)((long)first * c * sizeof(float)));
            Launch(CudaKernels.GlobalAvgPoolForward, new Dim3((uint)GemmTiles.CeilDiv(c, 32), (uint)images), xs, ys, images, hw, c);
        }
    }

    /// <summary>dx[n, h, w, c] += dy[n, c] / (H·W).</summary>
    public void GlobalAvgPoolBackward(Tensor dy, Tensor dx)
    {
        Enter();
        var (n, hw, c) = CheckGlobalPool(dx, dy);
        if (dx.Count == 0) return;
        Launch(CudaKernels.GlobalAvgPoolBackward, new Dim3(GemmTiles.StrideGrid(dx.Count, BlockThreads, 65535)), F32(dy), F32(dx), n, hw, c, AccumulateFlag(dx));
    }

    private static (int N, int HW, int C) CheckGlobalPool(Tensor x, Tensor y)
    {
        const string op = "global_avg_pool (cuda)";
        if (x.Shape.Rank != 4 || y.Shape != new Shape(x.Shape[0], x.Shape[3])) throw new ArgumentException($"{op}: x {x.Shape} must be [N, H, W, C] and y {y.Shape} [N, C]");
        CheckedCount(op, x.Count, "x");
        return (x.Shape[0], x.Shape[1] * x.Shape[2], x.Shape[3]);
    }

    /// <summary>y = the maximum of each window (overwrite).</summary>
    public void MaxPoolForward(Tensor x, Tensor y, PoolSpec spec)
    {
        Enter();
        CheckMaxPool(x, y, spec);
        if (y.Count == 0) return;
        Launch(CudaKernels.MaxPoolForward, new Dim3(GemmTiles.StrideGrid(y.Count, BlockThreads, 65535)),
            F32(x), F32(y), x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], spec.Kernel, spec.Stride, spec.Padding);
    }

    /// <summary>dx[first argmax of each window] += dy, as a gather per input element.</summary>
    public void MaxPoolBackward(Tensor x, Tensor dy, Tensor dx, PoolSpec spec)
    {
        Enter();
        CheckMaxPool(x, dy, spec);
        if (dx.Shape != x.Shape) throw new ArgumentException($"max_pool backward (cuda): dx {dx.Shape} must match x {x.Shape}");
        if (dx.Count == 0 || dy.Count == 0)
        {
            ZeroUnwritten(dx);
            return;
        }
        // H, W are the input sizes; grid = min(ceil(N·H·W·C / 256), 65535).
        Launch(CudaKernels.MaxPoolBackward, new Dim3(GemmTiles.StrideGrid(dx.Count, BlockThreads, 65535)),
            F32(x), F32(dy), F32(dx), x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], spec.Kernel, spec.Stride, spec.Padding, AccumulateFlag(dx));
    }

    private static void CheckMaxPool(Tensor x, Tensor y, PoolSpec spec)
    {
        const string op = "max_pool (cuda)";
        if (spec.Kernel <= 0 || spec.Stride <= 0 || spec.Padding < 0 || spec.Padding > spec.Kernel / 2)
        {
            throw new ArgumentException($"{op}: {spec} needs kernel, stride > 0 and 0 <= padding <= kernel/2 (every window must hold a real element)");
        }
        if (x.Shape.Rank != 4) throw new ArgumentException($"{op}: x {x.Shape} must be [N, H, W, C]");
        var expected = new Shape(x.Shape[0], spec.OutputSize(x.Shape[1]), spec.OutputSize(x.Shape[2]), x.Shape[3]);
        if (y.Shape != expected) throw new ArgumentException($"{op}: y {y.Shape} must be {expected}");
        CheckedCount(op, x.Count, "x");
        CheckedCount(op, y.Count, "y"); // with padding K/2 and stride 1, y can outgrow x
    }
}
