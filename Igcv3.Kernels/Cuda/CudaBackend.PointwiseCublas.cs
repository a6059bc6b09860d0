using Igcv3.Engine;
using static Igcv3.Kernels.Interop;

namespace Igcv3.Kernels.Cuda;

// The grouped 1x1 convolution through cuBLAS (PointwiseGemm.Cublas), the alternative the tiled
// kernels of pointwise.cu are measured against. x [M, Cin], w [Cout, Kg], y [M, Cout], all
// row-major; group g owns input columns g·Kg.., output columns g·Ng.. and weight rows g·Ng...
//
// cuBLAS is column-major: a row-major [r, c] matrix is, read column-major, its transpose [c, r]
// with leading dimension c. Group g's three products, each as a transposed product:
//   y_g  = x_g·w_gᵀ   ⇔  y_gᵀ [Ng, M]  = w_cm(T) · x_cm(N)    m = Ng, n = M,  k = Kg  (lda = Kg, ldb = Cin, ldc = Cout)
//   dx_g = dy_g·w_g   ⇔  dx_gᵀ [Kg, M] = w_cm(N) · dy_cm(N)   m = Kg, n = M,  k = Ng  (lda = Kg, ldb = Cout, ldc = Cin)
//   dw_g = dy_gᵀ·x_g  ⇔  dw_gᵀ [Kg, Ng] = x_cm(N) · dy_cm(T)  m = Kg, n = Ng, k = M   (lda = Cin, ldb = Cout, ldc = Kg)
// and the groups are one strided batch: x and dy step Kg and Ng columns, w Ng·Kg elements. The
// batches' outputs interleave within a row but never share an element.
//
// Permutations: y = P(Go)·conv(P(Gi)·x). With P(G)⁻¹ = P(C/G), every step is an overwriting
// channel_shuffle_forward into scratch, except the last step of dx, which is the adjoint
// channel_shuffle_backward (it accumulates, as the backward contract requires).
public sealed partial class CudaBackend
{
    /// <summary>The inverse of P(G) over C channels: P(C/G), or the identity.</summary>
    private static int InverseShuffle(int shuffle, int channels) => shuffle > 1 ? channels / shuffle : 0;

    /// <summary>P(G)·t in a scratch [rows, C] block, or t itself when G is the identity.</summary>
    private DevicePointer Shuffled(DevicePointer t, int rows, int channels, int shuffle, List<Workspace> scratch)
    {
        if (shuffle <= 1) return t;
        var copy = ScratchRows(rows, channels, scratch);
        LaunchShuffle(CudaKernels.ChannelShuffleForward, t, copy, rows, channels, shuffle);
        return copy;
    }

    /// <summary>An uninitialised [rows, C] block, released with the others once the sequence is queued.</summary>
    private DevicePointer ScratchRows(int rows, int channels, List<Workspace> scratch)
    {
        var workspace = Scratch("pointwise (cublas)", (long)rows * channels, sizeof(float));
        scratch.Add(workspace);
        return workspace.Pointer;
    }

    private void PointwiseForwardCublas(Tensor x, Tensor w, Tensor y, PointwiseGeometry g)
    {
        var scratch = new List<Workspace>();
        try
        {
            var xs = Shuffled(F32(x), g.M, g.Cin, g.InShuffle, scratch);
            var ys = g.OutShuffle > 1 ? ScratchRows(g.M, g.Cout, scratch) : F32(y);
            _queue.SgemmStridedBatched(Cublas.Operation.T, Cublas.Operation.N, g.Ng, g.M, g.Kg,
                1f, F32(w).Address, g.Kg, (long)g.Ng * g.Kg, xs.Address, g.Cin, g.Kg,
                0f, ys.Address, g.Cout, g.Ng, g.Groups);
            if (g.OutShuffle > 1)
            {
                LaunchShuffle(CudaKernels.ChannelShuffleForward, ys, F32(y), g.M, g.Cout, g.OutShuffle);
            }
        }
        finally
        {
            foreach (var s in scratch) s.Dispose();
        }
    }

    private void PointwiseBackwardCublas(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, PointwiseGeometry g)
    {
        var scratch = new List<Workspace>();
        try
        {
            // The gradient with respect to conv's output: P(Go)⁻¹·dy.
            var dys = Shuffled(F32(dy), g.M, g.Cout, InverseShuffle(g.OutShuffle, g.Cout), scratch);
            if (dx is not null)
            {
                bool direct = g.InShuffle <= 1;
                int accumulate = AccumulateFlag(dx);
                var dxs = direct ? F32(dx) : ScratchRows(g.M, g.Cin, scratch);
                // beta 0 never reads C, so an unwritten dx is overwritten as the contract asks.
                _queue.SgemmStridedBatched(Cublas.Operation.N, Cublas.Operation.N, g.Kg, g.M, g.Ng,
                    1f, F32(w).Address, g.Kg, (long)g.Ng * g.Kg, dys.Address, g.Cout, g.Ng,
                    direct ? accumulate : 0f, dxs.Address, g.Cin, g.Kg, g.Groups);
                if (!direct)
                {
                    // dx += P(Gi)ᵀ·dxs
                    LaunchShuffle(CudaKernels.ChannelShuffleBackward, dxs, F32(dx), g.M, g.Cin, g.InShuffle, accumulate);
                }
            }
            if (dw is not null)
            {
                var xs = Shuffled(F32(x), g.M, g.Cin, g.InShuffle, scratch);
                _queue.SgemmStridedBatched(Cublas.Operation.N, Cublas.Operation.T, g.Kg, g.Ng, g.M,
                    1f, xs.Address, g.Cin, g.Kg, dys.Address, g.Cout, g.Ng,
                    AccumulateFlag(dw), F32(dw).Address, g.Kg, (long)g.Ng * g.Kg, g.Groups);
            }
        }
        finally
        {
            foreach (var s in scratch) s.Dispose();
        }
    }
}
