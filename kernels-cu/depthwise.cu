// depthwise.cu — depthwise 3x3 convolution, padding 1, stride 1 or 2 (IBackend.DepthwiseForward/Backward).
//
//   x [N, H, W, C], w [C, 3, 3], y [N, Ho, Wo, C], Ho = (H - 1)/S + 1, Wo = (W - 1)/S + 1
//   y[n, ho, wo, c] = Σ_{kh,kw < 3} x[n, ho·S − 1 + kh, wo·S − 1 + kw, c] · w[c, kh, kw]   (x = 0 outside)
// Forward OVERWRITES y; backward ACCUMULATES:
//   dx[n, h, w, c] += Σ_{kh,kw} dy[n, (h + 1 − kh)/S, (w + 1 − kw)/S, c] · w[c, kh, kw]  (exact quotients in range)
//   dw[c, kh, kw]  += Σ_{n,ho,wo} dy[n, ho, wo, c] · x[n, ho·S − 1 + kh, wo·S − 1 + kw, c]
// Channels are innermost, so threads run across channels (coalesced) and each thread walks a strip of
// 4 consecutive output (or input) columns, reusing the loaded input columns across the strip and its
// taps. Forward and input gradient take 4 channels per thread with float4 loads when C % 4 == 0 and
// the tensors are 16-byte aligned (checked in the kernel), else 1 channel per thread.
// The input gradient is a gather (no atomics); the weight gradient reduces in registers, then in
// shared memory across the block, then deterministically across blocks (two passes, no atomics).
// Every tensor below 2^31 elements. Dynamic shared memory 0 for every kernel; the forward holds 16 KB of static shared
// memory for its statistics.
//
// ---- kernels and launch contract (block = 256 threads, 1-D, for every kernel) ---------------
//
// depthwise3x3_forward(const float* x, const float* w, float* y, int N, int H, int W, int C, int stride,
//                      double* statPartial, unsigned* statCounters, float* runningMean, float* runningVar,
//                      float* saveMean, float* saveInvStd, float momentum, float eps)
//   stride ∈ {1, 2}. statPartial null (the other stat arguments ignored): grid-stride over
//   N·Ho·ceil(Wo/4)·ceil(C/4) work items (4x more when C % 4 != 0):
//   grid = min(ceil(N·Ho·ceil(Wo/4)·ceil(C/4) / 256), 65535); any grid >= 1 is correct.
//   With statPartial: also the training batch statistics of y (IgcBatchStats in igc_common.cuh),
//   grid = (ceil(CI / lanes), splits), CI = ceil(C / V) channel items (V = 4 when C % 4 == 0 and x, y
//   are 16-byte aligned, else 1), lanes = dw_stat_lanes(CI) (the largest power of two <= min(CI, 32)),
//   splits = gridDim.y in [1, 65535]; statPartial [splits, 2, C] doubles (overwritten),
//   statCounters one per gridDim.x (zero before and after); N·Ho·Wo >= 2.
//   Suggested splits = clamp(ceil(4·SMs / gridDim.x), 1, min(256, ceil(N·Ho·ceil(Wo/4) / (256 / lanes)))).
//
// depthwise3x3_backward_data(const float* dy, const float* w, float* dx, int N, int H, int W, int C, int stride,
//                            int accumulate)   (accumulate == 0: dx overwritten, igc_write_grad)
//   dx += ...; H, W are the INPUT sizes (Ho, Wo derived). Grid-stride over N·H·ceil(W/4)·ceil(C/4):
//   grid = min(ceil(N·H·ceil(W/4)·ceil(C/4) / 256), 65535); any grid >= 1 is correct.
//
// depthwise3x3_backward_weight(const float* dy, const float* x, float* partial, unsigned* counters,
//                              float* dw, int N, int H, int W, int C, int stride, int accumulate)
//   grid = (ceil(C / 32), splits), splits = gridDim.y in [1, 65535]. Block (c-slice b, split s) sums
//   32 channels over its share of the N·Ho·ceil(Wo/4) output strips and OVERWRITES
//     partial [splits, C, 9]   (splits·C·9 floats of host-owned device workspace);
//   the last split of each c-slice (igc_last_block) sums the slice's partials in split order into
//   dw (+=; = when accumulate == 0). counters: one unsigned per c-slice (gridDim.x), 0 before the
//   launch and 0 after it.
//   Suggested splits = clamp(ceil(4·SMs / ceil(C/32)), 1, ceil(N·Ho·ceil(Wo/4) / 8)).
//   Static shared memory 9216 bytes.
#include "igc_common.cuh"

/// V consecutive floats at p (float4 when V == 4; the caller guarantees alignment then).
template <int V>
__device__ __forceinline__ void dw_load(const float* p, float (&v)[V])
{
    if constexpr (V == 4)
    {
        const float4 t = __ldg(reinterpret_cast<const float4*>(p));
        v[0] = t.x; v[1] = t.y; v[2] = t.z; v[3] = t.w;
    }
    else
    {
#pragma unroll
        for (int i = 0; i < V; i++) v[i] = __ldg(p + i);
    }
}

template <int V>
__device__ __forceinline__ void dw_zero(float (&v)[V])
{
#pragma unroll
    for (int i = 0; i < V; i++) v[i] = 0.0f;
}

/// One work item: V channels × 4 output columns at (n, ho, wo0 .. wo0+3), c0 the first channel;
/// y written, and the outputs left in acc (columns past Wo hold 0).
template <int S, int V>
__device__ __forceinline__ void depthwise_forward_strip(const float* __restrict__ x, const float* __restrict__ w,
                                                        float* __restrict__ y, int H, int W, int C, int n, int ho,
                                                        int wo0, int c0, float (&acc)[4][V])
{
    constexpr int NT = 3 * S + 3; // input columns under a strip of 4 outputs: 3·S + 3 (6 or 9)
    const int Ho = (H - 1) / S + 1, Wo = (W - 1) / S + 1;
    float wt[9][V]; // w[c0 + v, kh, kw]
#pragma unroll
    for (int v = 0; v < V; v++)
#pragma unroll
        for (int t = 0; t < 9; t++) wt[t][v] = __ldg(w + (c0 + v) * 9 + t); // V == 4 only when C % 4 == 0

#pragma unroll
    for (int j = 0; j < 4; j++) dw_zero(acc[j]);

#pragma unroll
    for (int kh = 0; kh < 3; kh++)
    {
        const int hi = ho * S - 1 + kh;
        if (hi < 0 || hi >= H) continue;
        const float* row = x + ((long long)(n * H + hi) * W) * C + c0; // x[n, hi, 0, c0]
        float in[NT][V];
#pragma unroll
        for (int t = 0; t < NT; t++)
        {
            const int wi = wo0 * S - 1 + t;
            if (wi >= 0 && wi < W) dw_load<V>(row + (long long)wi * C, in[t]);
            else dw_zero(in[t]);
        }
#pragma unroll
        for (int j = 0; j < 4; j++)
#pragma unroll
            for (int kw = 0; kw < 3; kw++)
#pragma unroll
                for (int v = 0; v < V; v++) acc[j][v] = fmaf(in[j * S + kw][v], wt[kh * 3 + kw][v], acc[j][v]);
    }

    float* out = y + ((long long)(n * Ho + ho) * Wo) * C + c0; // y[n, ho, 0, c0]
#pragma unroll
    for (int j = 0; j < 4; j++)
    {
        if (wo0 + j >= Wo)
        {
            dw_zero(acc[j]); // no output there: nothing for the statistics either
            continue;
        }
        float* p = out + (long long)(wo0 + j) * C;
        if constexpr (V == 4) *reinterpret_cast<float4*>(p) = make_float4(acc[j][0], acc[j][1], acc[j][2], acc[j][3]);
        else
        {
#pragma unroll
            for (int v = 0; v < V; v++) p[v] = acc[j][v];
        }
    }
}

/// Without statistics: a grid-stride loop over the N·Ho·ceil(Wo/4)·ceil(C/V) items, channels fastest.
template <int S, int V>
__device__ __forceinline__ void depthwise_forward_items(const float* __restrict__ x, const float* __restrict__ w,
                                                        float* __restrict__ y, int N, int H, int W, int C)
{
    const int Ho = (H - 1) / S + 1, Wo = (W - 1) / S + 1;
    const int CQ = (C + V - 1) / V, WQ = (Wo + 3) / 4;
    IGC_GRID_LOOP(item, N * Ho * WQ * CQ)
    {
        int rest = (int)item;
        const int c0 = (rest % CQ) * V; rest /= CQ;
        const int wo0 = (rest % WQ) * 4; rest /= WQ;
        const int ho = rest % Ho;
        const int n = rest / Ho;
        float acc[4][V];
        depthwise_forward_strip<S, V>(x, w, y, H, W, C, n, ho, wo0, c0, acc);
    }
}

/// The channel lanes of a statistics block: the block's 256 threads are lanes × 256/lanes strip
/// planes, lanes = the largest power of two <= min(ceil(C/V), 32), so narrow layers keep their
/// threads busy on more strips instead of idling on channels they do not have.
__device__ __forceinline__ int dw_stat_lanes(int channelItems)
{
    int lanes = 32;
    while (lanes > 1 && lanes > channelItems) lanes /= 2;
    return lanes;
}

/// With the batch statistics of y: block (b, s) takes channel items b·lanes + lane and the strips
/// s·planes + plane, + gridDim.y·planes, ...; each thread sums its channels' outputs (and squares)
/// in double; the block adds its planes in order into partial [gridDim.y, 2, C]; the last split of
/// each channel slice sums the splits in order and finalizes (IgcBatchStats).
template <int S, int V>
__device__ __forceinline__ void depthwise_forward_with_stats(const float* __restrict__ x, const float* __restrict__ w,
                                                             float* __restrict__ y, int N, int H, int W, int C,
                                                             const IgcBatchStats& st, double* red)
{
    // red [IGC_THREADS, V, 2]: each thread's (Σ, Σ²) per channel, in the kernel's one shared block.
    const int Ho = (H - 1) / S + 1, Wo = (W - 1) / S + 1;
    const int CQ = (C + V - 1) / V, WQ = (Wo + 3) / 4, strips = N * Ho * WQ;
    const int lanes = dw_stat_lanes(CQ), planes = IGC_THREADS / lanes;
    const int lane = threadIdx.x % lanes, plane = threadIdx.x / lanes;
    const int cq = blockIdx.x * lanes + lane;
    // Each thread's (Σ, Σ²) per channel live in its own slots of red, not in registers: the strip
    // keeps 9·V weights and up to 9·V inputs in registers, and 2·V doubles more made ptxas spill.
    double* mySums = red + threadIdx.x * V * 2;
#pragma unroll
    for (int t = 0; t < 2 * V; t++) mySums[t] = 0.0;
    if (cq < CQ)
    {
        for (int strip = blockIdx.y * planes + plane; strip < strips; strip += gridDim.y * planes)
        {
            const int wo0 = (strip % WQ) * 4, ho = (strip / WQ) % Ho, n = strip / (WQ * Ho);
            float acc[4][V];
            depthwise_forward_strip<S, V>(x, w, y, H, W, C, n, ho, wo0, cq * V, acc);
#pragma unroll
            for (int v = 0; v < V; v++)
            {
                double s = mySums[2 * v], q = mySums[2 * v + 1];
#pragma unroll
                for (int j = 0; j < 4; j++)
                {
                    const double o = acc[j][v];
                    s += o;
                    q = fma(o, o, q);
                }
                mySums[2 * v] = s;
                mySums[2 * v + 1] = q;
            }
        }
    }
    __syncthreads();
    const bool mine = plane == 0 && cq < CQ;
    if (mine)
    {
#pragma unroll
        for (int v = 0; v < V; v++)
        {
            double s = 0.0, q = 0.0;
            for (int p = 0; p < planes; p++)
            {
                s += red[((p * lanes + lane) * V + v) * 2];
                q += red[((p * lanes + lane) * V + v) * 2 + 1];
            }
            igc_stats_write_partial(st, blockIdx.y, cq * V + v, C, s, q);
        }
    }
    if (!igc_last_block(st.counters + blockIdx.x, gridDim.y) || !mine) return;
#pragma unroll
    for (int v = 0; v < V; v++) igc_stats_finish_channel(st, gridDim.y, cq * V + v, C, N * Ho * Wo);
}

/// One thread: V channels × 4 input columns at (n, h, w0 .. w0+3), w0 a multiple of 4 (so of S).
template <int S, int V>
__device__ __forceinline__ void depthwise_backward_data_items(const float* __restrict__ dy, const float* __restrict__ w,
                                                              float* __restrict__ dx, int N, int H, int W, int C,
                                                              int accumulate)
{
    // Input column w0 + j receives dy column (w0 + j + 1 − kw)/S when that is exact; with
    // num = j + 1 − kw + S (always >= 0) the column is w0/S − 1 + num/S, i.e. dyc[num/S].
    constexpr int NT = S == 1 ? 6 : 4;
    const int Ho = (H - 1) / S + 1, Wo = (W - 1) / S + 1;
    const int CQ = (C + V - 1) / V, WQ = (W + 3) / 4;
    IGC_GRID_LOOP(item, N * H * WQ * CQ)
    {
        int rest = (int)item;
        const int c0 = (rest % CQ) * V; rest /= CQ;
        const int w0 = (rest % WQ) * 4; rest /= WQ;
        const int h = rest % H;
        const int n = rest / H;

        float wt[9][V];
#pragma unroll
        for (int v = 0; v < V; v++)
#pragma unroll
            for (int t = 0; t < 9; t++) wt[t][v] = __ldg(w + (c0 + v) * 9 + t); // V == 4 only when C % 4 == 0

        float acc[4][V];
#pragma unroll
        for (int j = 0; j < 4; j++) dw_zero(acc[j]);

        const int wb = w0 / S - 1; // dy column of dyc[0]
#pragma unroll
        for (int kh = 0; kh < 3; kh++)
        {
            const int num = h + 1 - kh;
            if (num < 0 || num % S != 0) continue;
            const int ho = num / S;
            if (ho >= Ho) continue;
            const float* row = dy + ((long long)(n * Ho + ho) * Wo) * C + c0; // dy[n, ho, 0, c0]
            float dyc[NT][V];
#pragma unroll
            for (int t = 0; t < NT; t++)
            {
                const int wo = wb + t;
                if (wo >= 0 && wo < Wo) dw_load<V>(row + (long long)wo * C, dyc[t]);
                else dw_zero(dyc[t]);
            }
#pragma unroll
            for (int j = 0; j < 4; j++)
#pragma unroll
                for (int kw = 0; kw < 3; kw++)
                {
                    const int q = j + 1 - kw + S; // compile-time after unrolling
                    if (q % S != 0) continue;
#pragma unroll
                    for (int v = 0; v < V; v++) acc[j][v] = fmaf(dyc[q / S][v], wt[kh * 3 + kw][v], acc[j][v]);
                }
        }

        float* out = dx + ((long long)(n * H + h) * W) * C + c0; // dx[n, h, 0, c0]
#pragma unroll
        for (int j = 0; j < 4; j++)
        {
            if (w0 + j >= W) break;
            float* p = out + (long long)(w0 + j) * C;
            if constexpr (V == 4)
                igc_write_grad4(reinterpret_cast<float4*>(p), make_float4(acc[j][0], acc[j][1], acc[j][2], acc[j][3]), accumulate);
            else
            {
#pragma unroll
                for (int v = 0; v < V; v++) igc_write_grad(p + v, acc[j][v], accumulate);
            }
        }
    }
}

extern "C" __global__ void __launch_bounds__(IGC_THREADS)
    depthwise3x3_forward(const float* __restrict__ x, const float* __restrict__ w, float* __restrict__ y,
                         int N, int H, int W, int C, int stride, double* statPartial, unsigned* statCounters,
                         float* runningMean, float* runningVar, float* saveMean, float* saveInvStd, float momentum,
                         float eps)
{
    const bool vec = C % 4 == 0 && igc_aligned16(x) && igc_aligned16(y);
    if (statPartial)
    {
        __shared__ double red[IGC_THREADS * 4 * 2]; // one block for all four forms (16 KB)
        const IgcBatchStats st{statPartial, statCounters, runningMean, runningVar, saveMean, saveInvStd, momentum, eps};
        if (stride == 1)
        {
            if (vec) depthwise_forward_with_stats<1, 4>(x, w, y, N, H, W, C, st, red);
            else depthwise_forward_with_stats<1, 1>(x, w, y, N, H, W, C, st, red);
        }
        else
        {
            if (vec) depthwise_forward_with_stats<2, 4>(x, w, y, N, H, W, C, st, red);
            else depthwise_forward_with_stats<2, 1>(x, w, y, N, H, W, C, st, red);
        }
        return;
    }
    if (stride == 1)
    {
        if (vec) depthwise_forward_items<1, 4>(x, w, y, N, H, W, C);
        else depthwise_forward_items<1, 1>(x, w, y, N, H, W, C);
    }
    else
    {
        if (vec) depthwise_forward_items<2, 4>(x, w, y, N, H, W, C);
        else depthwise_forward_items<2, 1>(x, w, y, N, H, W, C);
    }
}

extern "C" __global__ void __launch_bounds__(IGC_THREADS)
    depthwise3x3_backward_data(const float* __restrict__ dy, const float* __restrict__ w, float* __restrict__ dx,
                               int N, int H, int W, int C, int stride, int accumulate)
{
    const bool vec = C % 4 == 0 && igc_aligned16(dy) && igc_aligned16(dx);
    if (stride == 1)
    {
        if (vec) depthwise_backward_data_items<1, 4>(dy, w, dx, N, H, W, C, accumulate);
        else depthwise_backward_data_items<1, 1>(dy, w, dx, N, H, W, C, accumulate);
    }
    else
    {
        if (vec) depthwise_backward_data_items<2, 4>(dy, w, dx, N, H, W, C, accumulate);
        else depthwise_backward_data_items<2, 1>(dy, w, dx, N, H, W, C, accumulate);
    }
}

/// Σ over this thread's strips of dy·x for the 9 taps of channel c (0 for c >= C).
template <int S>
__device__ __forceinline__ void depthwise_weight_strips(const float* __restrict__ dy, const float* __restrict__ x,
                                                        int N, int H, int W, int C, int c, int first, int last,
                                                        int step, float (&acc)[9])
{
    constexpr int NT = 3 * S + 3;
    const int Ho = (H - 1) / S + 1, Wo = (W - 1) / S + 1, WQ = (Wo + 3) / 4;
#pragma unroll
    for (int t = 0; t < 9; t++) acc[t] = 0.0f;
    if (c >= C) return;
    for (int strip = first; strip < last; strip += step)
    {
        const int wo0 = (strip % WQ) * 4;
        const int ho = (strip / WQ) % Ho;
        const int n = strip / (WQ * Ho);
        const float* g = dy + ((long long)(n * Ho + ho) * Wo + wo0) * C + c; // dy[n, ho, wo0, c]
        float d[4];
#pragma unroll
        for (int j = 0; j < 4; j++) d[j] = wo0 + j < Wo ? __ldg(g + (long long)j * C) : 0.0f;
#pragma unroll
        for (int kh = 0; kh < 3; kh++)
        {
            const int hi = ho * S - 1 + kh;
            if (hi < 0 || hi >= H) continue;
            const float* row = x + ((long long)(n * H + hi) * W) * C + c; // x[n, hi, 0, c]
            float in[NT];
#pragma unroll
            for (int t = 0; t < NT; t++)
            {
                const int wi = wo0 * S - 1 + t;
                in[t] = (wi >= 0 && wi < W) ? __ldg(row + (long long)wi * C) : 0.0f;
            }
#pragma unroll
            for (int kw = 0; kw < 3; kw++)
#pragma unroll
                for (int j = 0; j < 4; j++) acc[kh * 3 + kw] = fmaf(d[j], in[j * S + kw], acc[kh * 3 + kw]);
        }
    }
}

extern "C" __global__ void __launch_bounds__(IGC_THREADS)
    depthwise3x3_backward_weight(const float* __restrict__ dy, const float* __restrict__ x, float* __restrict__ partial,
                                 unsigned* __restrict__ counters, float* __restrict__ dw, int N, int H, int W, int C,
                                 int stride, int accumulate)
{
    __shared__ float red[IGC_THREADS / 32][9][32]; // [pixel lane][tap][channel lane]
    const int lane = threadIdx.x % 32, plane = threadIdx.x / 32;
    const int c = blockIdx.x * 32 + lane;
    const int Ho = (H - 1) / stride + 1, Wo = (W - 1) / stride + 1;
    const int strips = N * Ho * ((Wo + 3) / 4);
    const int per = (strips + gridDim.y - 1) / gridDim.y;
    const long long b = (long long)blockIdx.y * per;
    const int first = (int)(b < strips ? b : strips);
    const int last = first + per < strips ? first + per : strips;

    float acc[9];
    if (stride == 1) depthwise_weight_strips<1>(dy, x, N, H, W, C, c, first + plane, last, IGC_THREADS / 32, acc);
    else depthwise_weight_strips<2>(dy, x, N, H, W, C, c, first + plane, last, IGC_THREADS / 32, acc);

#pragma unroll
    for (int t = 0; t < 9; t++) red[plane][t][lane] = acc[t];
    __syncthreads();
    // partial[s, c, tap] = Σ over the 8 pixel lanes, in lane order.       partial [splits, C, 9]
    for (int i = threadIdx.x; i < 9 * 32; i += IGC_THREADS)
    {
        const int l = i % 32, tap = i / 32, cc = blockIdx.x * 32 + l;
        float s = 0.0f;
#pragma unroll
        for (int p = 0; p < IGC_THREADS / 32; p++) s += red[p][tap][l];
        if (cc < C) partial[((long long)blockIdx.y * C + cc) * 9 + tap] = s;
    }
    // The c-slice's last split: dw[c, tap] (+)= Σ_s partial[s, c, tap], in split order.
    if (!igc_last_block(counters + blockIdx.x, gridDim.y)) return;
    for (int i = threadIdx.x; i < 9 * 32; i += IGC_THREADS)
    {
        const long long e = (long long)blockIdx.x * 32 * 9 + i; // c·9 + tap, c in this slice
        if (e < (long long)C * 9) igc_write_grad(dw + e, igc_sum_slices(partial, (long long)C * 9, e, gridDim.y), accumulate);
    }
}
