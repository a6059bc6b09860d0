using Igcv3.Engine;
using static Igcv3.Kernels.Interop;

namespace Igcv3.Kernels.Cuda;

// The linear layer: the three matrix products are cuBLAS SGEMMs on the backend's stream, the bias
// parts are linear.cu kernels. x [N, In], w [Out, In], b [Out], y, dy [N, Out].
//
// cuBLAS is column-major. A row-major [r, c] matrix read column-major is its transpose [c, r] with
// leading dimension c, so each row-major product is computed as its transpose:
//   y  = x·wᵀ   ⇔  yᵀ [Out, N]  = w_cm(T) · x_cm(N)      m = Out, n = N,   k = In   (w_cm = wᵀ [In, Out], lda = In;  x_cm = xᵀ [In, N], ldb = In;  ldc = Out)
//   dx += dy·w  ⇔  dxᵀ [In, N]  = w_cm(N) · dy_cm(N)     m = In,  n = N,   k = Out  (lda = In; dy_cm = dyᵀ [Out, N], ldb = Out; ldc = In)
//   dw += dyᵀ·x ⇔  dwᵀ [In, Out] = x_cm(N) · dy_cm(T)    m = In,  n = Out, k = N    (lda = In; ldb = Out; ldc = In)
// Forward uses beta = 0 (overwrite), backward beta = 1 (accumulate, the IBackend contract).
public sealed partial class CudaBackend
{
    private static (int N, int In, int Out) CheckLinear(Tensor x, Tensor w, Tensor y)
    {
        const string op = "linear (cuda)";
        if (x.Shape.Rank != 2 || w.Shape.Rank != 2 || w.Shape[1] != x.Shape[1] || y.Shape != new Shape(x.Shape[0], w.Shape[0]))
        {
            throw new ArgumentException($"{op}: x {x.Shape} must be [N, In], w {w.Shape} [Out, In] and y {y.Shape} [N, Out]");
        }
        CheckedCount(op, x.Count, "x");
        CheckedCount(op, w.Count, "w");
        CheckedCount(op, y.Count, "y");
        return (x.Shape[0], x.Shape[1], w.Shape[0]);
    }

    /// <summary>y = x·wᵀ + b.</summary>
    public void LinearForward(Tensor x, Tensor w, Tensor? b, Tensor y)
    {
        Enter();
        var (n, inputs, outputs) = CheckLinear(x, w, y);
        if (b is not null && b.Count != outputs) throw new ArgumentException($"linear (cuda): b {b.Shape} must be [{outputs}]");
        if (y.Count == 0) return;
        if (inputs == 0)
        {
            // An empty product; cuBLAS rejects a leading dimension of 0.
            _queue.MemsetD32(F32(y).Address, 0, y.Count);
        }
        else
        {
            _queue.Sgemm(Cublas.Operation.T, Cublas.Operation.N, outputs, n, inputs,
                1f, F32(w).Address, inputs, F32(x).Address, inputs, 0f, F32(y).Address, outputs);
        }
        if (b is not null)
        {
            Launch(CudaKernels.LinearAddBias, new Dim3(GemmTiles.StrideGrid(y.Count, BlockThreads, 65535)), F32(y), F32(b), n, outputs);
        }
    }

    /// <summary>dx += dy·w; dw += dyᵀ·x; db += Σ_n dy.</summary>
    public void LinearBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, Tensor? db)
    {
        Enter();
        var (n, inputs, outputs) = CheckLinear(x, w, dy);
        if (dx is not null && dx.Shape != x.Shape) throw new ArgumentException($"linear backward (cuda): dx {dx.Shape} must match x {x.Shape}");
        if (dw is not null && dw.Shape != w.Shape) throw new ArgumentException($"linear backward (cuda): dw {dw.Shape} must match w {w.Shape}");
        if (db is not null && db.Count != outputs) throw new ArgumentException($"linear backward (cuda): db {db.Shape} must be [{outputs}]");
        if (n == 0 || outputs == 0)
        {
            ZeroUnwritten(dx, dw, db); // every gradient is an empty sum
            return;
        }
        // beta 0 (an unwritten gradient) never reads C: the product overwrites it.
        if (inputs > 0 && dx is not null)
        {
            _queue.Sgemm(Cublas.Operation.N, Cublas.Operation.N, inputs, n, outputs,
                1f, F32(w).Address, inputs, F32(dy).Address, outputs, AccumulateFlag(dx), F32(dx).Address, inputs);
        }
        if (inputs > 0 && dw is not null)
        {
            _queue.Sgemm(Cublas.Operation.N, Cublas.Operation.T, inputs, outputs, n,
                1f, F32(x).Address, inputs, F32(dy).Address, outputs, AccumulateFlag(dw), F32(dw).Address, inputs);
        }
        if (db is not null)
        {
            ZeroUnwritten(db);
            // grid = ceil(Out / 32); 32 output lanes × 8 row lanes per block, fixed-order sums.
            Launch(CudaKernels.LinearBiasBackward, new Dim3((uint)GemmTiles.CeilDiv(outputs, 32)), F32(dy), F32(db), n, outputs);
        }
    }
}
