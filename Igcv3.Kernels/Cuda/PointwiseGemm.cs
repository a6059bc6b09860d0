namespace Igcv3.Kernels.Cuda;

/// <summary>
/// How <see cref="CudaBackend"/> runs the grouped 1x1 convolution. The issue asks for the
/// hand-written kernel to be measured against cuBLAS and the faster kept: both stay selectable so
/// that `gpu-report` times every pointwise call of a training step both ways, on the same backend.
/// </summary>
public enum PointwiseGemm
{
    /// <summary>pointwise.cu: tiled SGEMMs with the IGC permutations fused into their indexing
    /// (no pass over memory for a permutation). The default.</summary>
    Tiled,

    /// <summary>cuBLAS strided-batched SGEMM, one batch per group. cuBLAS cannot index through a
    /// permutation, so a fused permutation becomes what a general framework does: an explicit
    /// channel_shuffle pass through a scratch tensor.</summary>
    Cublas,
}
