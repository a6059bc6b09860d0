// pooling.cu — global average pooling and max pooling (IBackend.GlobalAvgPool*, MaxPool*, PoolSpec).
//
// Global average pool:  x [N, H, W, C] → y [N, C],  y[n, c] = Σ_{h,w} x[n, h, w, c] / (H·W)  (overwrite)
//   backward:            dx[n, h, w, c] += dy[n, c] / (H·W)                                 (ACCUMULATE)
// Max pool (square window K, stride S, padding P; padding is −∞, i.e. never chosen):
//   x [N, H, W, C] → y [N, Ho, Wo, C], Ho = (H + 2P − K)/S + 1 (same for W)
//   y[n, ho, wo, c] = max over the window at (ho·S − P, wo·S − P) clipped to the image  (overwrite)
//   backward: dx[first argmax of each window] += dy (ACCUMULATE), the argmax recomputed from x:
//   the first real element in row-major window order, then strictly greater values replace it
//   (the CPU reference's MaxPoolArgmax). The backward is a deterministic GATHER: each input element
//   sums, in (ho, wo) order, the dy of the windows that contain it and chose it — no atomics.
// Preconditions (host): every window holds at least one real element (P <= K/2, as the front-end
// checks); tensors below 2^31 elements.
//
// ---- kernels and launch contract (block = 256 threads, 1-D; dynamic shared memory 0) -----------
// global_avgpool_forward(const float* x, float* y, int N, int HW, int C)
//   grid = (ceil(C / 32), N). Block = 32 channel lanes × 8 pixel lanes, fixed-order reduction.
//   Static shared memory 1 KB.
// global_avgpool_backward(const float* dy, float* dx, int N, int HW, int C, int accumulate)
//   grid = min(ceil(N·HW·C / 256), 65535) (grid-stride; any grid >= 1).
// maxpool_forward(const float* x, float* y, int N, int H, int W, int C, int K, int S, int P)
//   grid = min(ceil(N·Ho·Wo·C / 256), 65535) (grid-stride; any grid >= 1).
// maxpool_backward(const float* x, const float* dy, float* dx, int N, int H, int W, int C, int K, int S, int P,
//                  int accumulate)
// Both backward kernels overwrite dx instead of accumulating when accumulate == 0 (igc_write_grad).
//   H, W the input sizes. grid = min(ceil(N·H·W·C / 256), 65535) (grid-stride; any grid >= 1).
#include "igc_common.cuh"

extern "C" __global__ void __launch_bounds__(IGC_THREADS)
    global_avgpool_forward(const float* __restrict__ x, float* __restrict__ y, int N, int HW, int C)
{
    __shared__ float red[IGC_THREADS / 32][32];
    const int lane = threadIdx.x % 32, plane = threadIdx.x / 32;
    const int c = blockIdx.x * 32 + lane, n = blockIdx.y;
    float s = 0.0f;
    if (c < C)
    {
        const float* img = x + (long long)n * HW * C + c; // x[n, ·, ·, c]
        for (int p = plane; p < HW; p += IGC_THREADS / 32) s += __ldg(img + (long long)p * C);
    }
    red[plane][lane] = s;
    __syncthreads();
    if (plane == 0 && c < C)
    {
        float total = 0.0f;
#pragma unroll
        for (int p = 0; p < IGC_THREADS / 32; p++) total += red[p][lane];
        y[(long long)n * C + c] = total / (float)HW;
    }
}

extern "C" __global__ void __launch_bounds__(IGC_THREADS)
    global_avgpool_backward(const float* __restrict__ dy, float* __restrict__ dx, int N, int HW, int C, int accumulate)
{
    const float scale = 1.0f / (float)HW;
    IGC_GRID_LOOP(i, N * HW * C)
    {
        const int c = (int)(i % (unsigned)C), n = (int)(i / ((unsigned)HW * (unsigned)C));
        igc_write_grad(dx + i, __ldg(dy + (long long)n * C + c) * scale, accumulate);
    }
}

/// Flat index into x of the first maximum of window (n, ho, wo) in channel c (see header).
__device__ __forceinline__ long long maxpool_argmax(const float* __restrict__ x, int n, int ho, int wo, int c, int H, int W,
                                                    int C, int K, int S, int P)
{
    const int top = ho * S - P, left = wo * S - P;
    const int h0 = max(top, 0), h1 = min(top + K, H), w0 = max(left, 0), w1 = min(left + K, W);
    long long best = -1;
    float bestValue = 0.0f;
    for (int h = h0; h < h1; h++)
        for (int w = w0; w < w1; w++)
        {
            const long long i = (((long long)n * H + h) * W + w) * C + c;
            const float v = __ldg(x + i);
            if (best < 0 || v > bestValue)
            {
                best = i;
                bestValue = v;
            }
        }
    return best;
}

extern "C" __global__ void __launch_bounds__(IGC_THREADS)
    maxpool_forward(const float* __restrict__ x, float* __restrict__ y, int N, int H, int W, int C, int K, int S, int P)
{
    const int Ho = (H + 2 * P - K) / S + 1, Wo = (W + 2 * P - K) / S + 1;
    IGC_GRID_LOOP(i, N * Ho * Wo * C)
    {
        int rest = (int)i;
        const int c = rest % C; rest /= C;
        const int wo = rest % Wo; rest /= Wo;
        const int ho = rest % Ho;
        const int n = rest / Ho;
        const long long a = maxpool_argmax(x, n, ho, wo, c, H, W, C, K, S, P);
        y[i] = a >= 0 ? __ldg(x + a) : igc_neg_inf();
    }
}

extern "C" __global__ void __launch_bounds__(IGC_THREADS)
    maxpool_backward(const float* __restrict__ x, const float* __restrict__ dy, float* __restrict__ dx,
                     int N, int H, int W, int C, int K, int S, int P, int accumulate)
{
    const int Ho = (H + 2 * P - K) / S + 1, Wo = (W + 2 * P - K) / S + 1;
    IGC_GRID_LOOP(i, N * H * W * C)
    {
        int rest = (int)i;
        const int c = rest % C; rest /= C;
        const int w = rest % W; rest /= W;
        const int h = rest % H;
        const int n = rest / H;
        // Windows containing (h, w): ho·S − P <= h < ho·S − P + K, i.e. ho in [ceil((h + P − K + 1)/S), (h + P)/S].
        const int hoLo = max(0, (h + P - K + S) / S), hoHi = min(Ho - 1, (h + P) / S);
        const int woLo = max(0, (w + P - K + S) / S), woHi = min(Wo - 1, (w + P) / S);
        float g = 0.0f;
        for (int ho = hoLo; ho <= hoHi; ho++)
            for (int wo = woLo; wo <= woHi; wo++)
                if (maxpool_argmax(x, n, ho, wo, c, H, W, C, K, S, P) == (long long)i)
                    g += __ldg(dy + (((long long)n * Ho + ho) * Wo + wo) * C + c);
        igc_write_grad(dx + i, g, accumulate);
    }
}
