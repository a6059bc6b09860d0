// loss.cu — mean softmax cross-entropy with label smoothing ε
// (IBackend.SoftmaxCrossEntropyForward/Backward).
//
//   logits [N, K], labels int32 [N], probabilities [N, K], loss scalar [1], dloss scalar [1]
//   target t[n, k] = (1 − ε)·[k == label_n] + ε/K
//   p = softmax(logits) per row (row max subtracted first)                              (overwrite)
//   loss = (1/N)·Σ_n (logsumexp(z_n) − (1 − ε)·z_n[label_n] − (ε/K)·Σ_k z_n[k])           (overwrite)
//   backward: dlogits[n, k] += dloss[0] · (p[n, k] − t[n, k]) / N   (ACCUMULATE; dloss read from device)
// A label outside [0, K) makes its row's loss NaN (visible, not a memory fault). The batch mean is a
// deterministic two-kernel reduction (per-row losses, then one block sums them in a fixed order).
// Tensors below 2^31 elements.
//
// ---- kernels and launch contract (block = 256 threads, 1-D; dynamic shared memory 0) -----------
// softmax_xent_forward_rows(const float* logits, const int* labels, float* probabilities,
//                           float* rowLoss, int N, int K, float smoothing)
//   grid = N (one block per row; N <= 2^31 − 1). OVERWRITES rowLoss [N] (host-owned workspace).
//   Static shared memory 32 bytes.
// softmax_xent_forward_mean(const float* rowLoss, float* loss, int N)
//   grid = 1. loss[0] = Σ_n rowLoss[n] / N (summed in double, fixed order).
// softmax_xent_backward(const float* probabilities, const int* labels, const float* dloss,
//                       float* dlogits, int N, int K, float smoothing, int accumulate)
//   (accumulate == 0: dlogits overwritten, igc_write_grad)
//   grid = min(ceil(N·K / 256), 65535) (grid-stride; any grid >= 1).
#include "igc_common.cuh"

extern "C" __global__ void __launch_bounds__(IGC_THREADS)
    softmax_xent_forward_rows(const float* __restrict__ logits, const int* __restrict__ labels,
                              float* __restrict__ probabilities, float* __restrict__ rowLoss, int N, int K,
                              float smoothing)
{
    __shared__ float scratch[IGC_THREADS / 32];
    const int n = blockIdx.x;
    const float* z = logits + (long long)n * K;  // z [K]
    float* p = probabilities + (long long)n * K; // p [K]

    float mx = igc_neg_inf();
    for (int k = threadIdx.x; k < K; k += IGC_THREADS) mx = igc_max(mx, __ldg(z + k));
    mx = igc_block_max(mx, scratch);

    // Shifted by the max, every term of the loss is >= 0: no cancellation for large logits.
    float sumExp = 0.0f, sumGap = 0.0f; // Σ exp(z − max), Σ (max − z)
    for (int k = threadIdx.x; k < K; k += IGC_THREADS)
    {
        const float v = __ldg(z + k);
        sumExp += expf(v - mx);
        sumGap += mx - v;
    }
    sumExp = igc_block_sum(sumExp, scratch);
    sumGap = igc_block_sum(sumGap, scratch);

    const float inv = 1.0f / sumExp;
    for (int k = threadIdx.x; k < K; k += IGC_THREADS) p[k] = expf(__ldg(z + k) - mx) * inv;

    if (threadIdx.x == 0)
    {
        const int label = labels[n];
        const bool ok = label >= 0 && label < K;
        // logsumexp − (1 − ε)·z[label] − (ε/K)·Σz  =  log Σexp(z − max) + (1 − ε)·(max − z[label]) + (ε/K)·Σ(max − z)
        rowLoss[n] = ok ? logf(sumExp) + (1.0f - smoothing) * (mx - __ldg(z + label)) + smoothing / (float)K * sumGap
                        : igc_nan();
    }
}

extern "C" __global__ void __launch_bounds__(IGC_THREADS)
    softmax_xent_forward_mean(const float* __restrict__ rowLoss, float* __restrict__ loss, int N)
{
    __shared__ double scratch[IGC_THREADS / 32];
    double s = 0.0;
    for (int n = threadIdx.x; n < N; n += IGC_THREADS) s += (double)rowLoss[n];
    s = igc_block_sum_double(s, scratch);
    if (threadIdx.x == 0) loss[0] = (float)(s / N);
}

extern "C" __global__ void __launch_bounds__(IGC_THREADS)
    softmax_xent_backward(const float* __restrict__ probabilities, const int* __restrict__ labels,
                          const float* __restrict__ dloss, float* __restrict__ dlogits, int N, int K, float smoothing,
                          int accumulate)
{
    const float scale = __ldg(dloss) / (float)N, off = smoothing / (float)K, on = 1.0f - smoothing + off;
    IGC_GRID_LOOP(i, N * K)
    {
        const int k = (int)(i % (unsigned)K), n = (int)(i / (unsigned)K);
        const float t = k == __ldg(labels + n) ? on : off;
        igc_write_grad(dlogits + i, scale * (__ldg(probabilities + i) - t), accumulate);
    }
}
