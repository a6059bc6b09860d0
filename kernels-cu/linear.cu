// linear.cu — the bias parts of the linear layer (IBackend.LinearForward/Backward); the matrix
// products y = x·wᵀ, dx += dy·w, dw += dyᵀ·x are cuBLAS SGEMM calls made by the host.
//
//   x [N, In], w [Out, In], b [Out], y, dy [N, Out]
//   linear_add_bias:      y[n, o] += b[o]                 (after the GEMM wrote y = x·wᵀ with beta = 0)
//   linear_bias_backward: db[o] += Σ_n dy[n, o]           (ACCUMULATE; fixed-order, deterministic)
// Tensors below 2^31 elements.
//
// ---- kernels and launch contract (block = 256 threads, 1-D; dynamic shared memory 0) -----------
// linear_add_bias(float* y, const float* b, int N, int Out)
//   grid = min(ceil(N·Out / 256), 65535) (grid-stride; any grid >= 1).
// linear_bias_backward(const float* dy, float* db, int N, int Out)
//   grid = ceil(Out / 32). Block = 32 output lanes × 8 row lanes; static shared memory 1 KB.
#include "igc_common.cuh"

extern "C" __global__ void __launch_bounds__(IGC_THREADS) linear_add_bias(float* __restrict__ y, const float* __restrict__ b,
                                                                          int N, int Out)
{
    IGC_GRID_LOOP(i, N * Out) y[i] += __ldg(b + (int)(i % (unsigned)Out));
}

extern "C" __global__ void __launch_bounds__(IGC_THREADS)
    linear_bias_backward(const float* __restrict__ dy, float* __restrict__ db, int N, int Out)
{
    __shared__ float red[IGC_THREADS / 32][32];
    const int lane = threadIdx.x % 32, plane = threadIdx.x / 32;
    const int o = blockIdx.x * 32 + lane;
    float s = 0.0f;
    if (o < Out)
        for (int n = plane; n < N; n += IGC_THREADS / 32) s += __ldg(dy + (long long)n * Out + o);
    red[plane][lane] = s;
    __syncthreads();
    if (plane == 0 && o < Out)
    {
        float total = 0.0f;
#pragma unroll
        for (int p = 0; p < IGC_THREADS / 32; p++) total += red[p][lane];
        db[o] += total;
    }
}
