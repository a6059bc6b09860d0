// batchnorm.cu — batch normalisation over all axes but the last, with a fused activation
// (IBackend.BatchNormForward/Backward, BatchNormSpec).
//
//   x, y, dy, dx [M, C] (M = N·H·W rows of NHWC); gamma, beta, runningMean, runningVar, saveMean,
//   saveInvStd, dgamma, dbeta [C]. act: 0 None, 1 ReLU, 2 ReLU6 (the C# Activation enum).
// Forward: y = act(γ·(x − μ)·invstd + β), invstd = 1/√(σ² + ε), OVERWRITES y, saveMean, saveInvStd.
//   Training: μ, σ² = batch mean and BIASED variance (M >= 2, checked by the op front-end);
//     running ← (1 − m)·running + m·(μ, σ²·M/(M − 1))  (PyTorch momentum, unbiased running variance).
//   Eval: μ = runningMean, σ² = runningVar.
// Backward (ACCUMULATES into dx, dgamma, dbeta; each may be skipped): ĝ = dy·act'(y), the mask
//   recomputed from x as the forward computed y (bn_passes: the same expression, so the same mask,
//   and y is never read: one pass over memory fewer in each backward kernel),
//   x̂ = (x − saveMean)·saveInvStd;  dβ += Σĝ;  dγ += Σĝ·x̂;
//   training dx += γ·invstd·(ĝ − Σĝ/M − x̂·Σ(ĝ·x̂)/M);  eval dx += γ·invstd·ĝ.
// Numerics: the statistics are per-thread Welford (float) over strided rows, combined across the
// block and across blocks with Chan's formula in double; the backward sums accumulate in double.
// Both reductions are two-pass and deterministic (no atomics). Tensors below 2^31 elements.
// Dynamic shared memory 0 for every kernel.
//
// ---- launch contract (block = 256 threads, 1-D, for every kernel) -------------------------
// Training forward: stats -> apply. Eval forward: eval_stats -> apply.
// Backward: if (dgamma || dbeta || (dx && training)) backward_stats; then if (dx) backward_data.
// The two stats kernels finalize in their LAST block (igc_last_block in igc_common.cuh): one launch
// does what a stats and a finalize kernel did, deterministically. The counter is one unsigned int
// of device memory, 0 before the launch and 0 again after it, shared between launches on one stream.
//
// batchnorm_forward_stats(const float* x, double* partial, unsigned* counter, int M, int C,
//                         float momentum, float eps, float* runningMean, float* runningVar,
//                         float* saveMean, float* saveInvStd)
//   grid = (ceil(C/32), splits), splits = gridDim.y in [1, 65535]; split s takes rows
//   [s·per, min(M, (s+1)·per)), per = ceil(M / splits). OVERWRITES
//     partial [splits, 3, C] doubles: (mean, M2 = Σ(x − mean)², count) of each split;
//   the last block combines the splits in order (Chan, double), writes saveMean/saveInvStd and
//   updates runningMean/runningVar in place.
//   Suggested splits = clamp(ceil(4·SMs / ceil(C/32)), 1, ceil(M / 64)). Static smem 3 KB.
// batchnorm_eval_stats(const float* runningMean, const float* runningVar, float* saveMean,
//                      float* saveInvStd, int C, float eps)
//   grid = ceil(C / 256). saveMean = runningMean, saveInvStd = 1/√(runningVar + ε).
// batchnorm_forward_apply(const float* x, const float* gamma, const float* beta, const float* mean,
//                         const float* invStd, float* y, int M, int C, int act, const float* residual)
//   y = act(γ·(x − mean)·invStd + β) (+ residual [M, C] when not null: a residual add fused, the
//   sum of the two rounded terms as the add kernel computes it). Grid-stride:
//   grid = min(ceil(M·C / 1024), 65535); any grid >= 1.
//   x and y may alias (in-place) — each element is read then written by the same thread.
//
// batchnorm_backward_stats(const float* x, const float* gamma, const float* beta, const float* dy,
//                          const float* mean, const float* invStd, double* partial, unsigned* counter,
//                          int M, int C, int act, float* dgamma, float* dbeta, float* sums)
//   grid = (ceil(C/32), splits) as for forward_stats. OVERWRITES partial [splits, 2, C] doubles:
//   (Σĝ, Σĝ·x̂) of each split; the last block sums the splits in order, dbeta[c] += Σĝ,
//   dgamma[c] += Σĝ·x̂ (each skipped when null), and OVERWRITES sums [2, C] floats (Σĝ, Σĝ·x̂) for
//   backward_data (skipped when null).
// batchnorm_backward_data(const float* x, const float* gamma, const float* beta, const float* dy,
//                         const float* mean, const float* invStd, const float* sums, float* dx,
//                         int M, int C, int act, int training, int accumulate)
//   dx += ... (dx = ... when accumulate == 0: igc_write_grad) (sums [2, C] from backward_stats; ignored, may be null, when training == 0).
//   Grid-stride: grid = min(ceil(M·C / 1024), 65535); any grid >= 1.
#include "igc_common.cuh"

#define BN_PLANES (IGC_THREADS / 32) // row lanes per block; 32 channel lanes each

/// This block's row range [first, last) for split blockIdx.y of gridDim.y.
__device__ __forceinline__ void bn_split_rows(int M, int& first, int& last)
{
    const int per = (M + gridDim.y - 1) / gridDim.y;
    const long long b = (long long)blockIdx.y * per;
    first = (int)(b < M ? b : M);
    last = first + per < M ? first + per : M;
}

/// Chan et al.: merge (nB, meanB, m2B) into (nA, meanA, m2A).
__device__ __forceinline__ void bn_chan_merge(double& nA, double& meanA, double& m2A, double nB, double meanB, double m2B)
{
    if (nB == 0.0) return;
    const double n = nA + nB, delta = meanB - meanA;
    meanA += delta * (nB / n);
    m2A += m2B + delta * delta * (nA * nB / n);
    nA = n;
}

extern "C" __global__ void __launch_bounds__(IGC_THREADS)
    batchnorm_forward_stats(const float* __restrict__ x, double* __restrict__ partial, unsigned* __restrict__ counter,
                            int M, int C, float momentum, float eps, float* __restrict__ runningMean,
                            float* __restrict__ runningVar, float* __restrict__ saveMean, float* __restrict__ saveInvStd)
{
    __shared__ float sMean[BN_PLANES][32], sM2[BN_PLANES][32];
    __shared__ int sCount[BN_PLANES][32];
    const int lane = threadIdx.x % 32, plane = threadIdx.x / 32;
    const int c = blockIdx.x * 32 + lane;
    int first, last;
    bn_split_rows(M, first, last);

    // Welford over rows first + plane, + BN_PLANES, ...: a warp reads 32 consecutive channels.
    int n = 0;
    float mean = 0.0f, m2 = 0.0f;
    if (c < C)
    {
        for (int m = first + plane; m < last; m += BN_PLANES)
        {
            const float v = __ldg(x + (long long)m * C + c);
            n++;
            const float delta = v - mean;
            mean += delta / (float)n;
            m2 = fmaf(delta, v - mean, m2);
        }
    }
    sMean[plane][lane] = mean;
    sM2[plane][lane] = m2;
    sCount[plane][lane] = n;
    __syncthreads();
    if (plane == 0 && c < C)
    {
        double nA = 0.0, meanA = 0.0, m2A = 0.0;
        // Kept rolled: unrolled, the eight double divisions (a called subroutine) made ptxas for
        // sm_90 save registers across the calls (56 bytes of spills); rolled it spills nothing.
#pragma unroll 1
        for (int p = 0; p < BN_PLANES; p++) bn_chan_merge(nA, meanA, m2A, sCount[p][lane], sMean[p][lane], sM2[p][lane]);
        double* out = partial + (long long)blockIdx.y * 3 * C; // partial [splits, 3, C]
        out[c] = meanA;
        out[C + c] = m2A;
        out[2 * C + c] = nA;
    }
    if (!igc_last_block(counter, gridDim.x * gridDim.y)) return;

    // The last block: every channel's splits combined in split order. __ldcg reads around L1, which
    // may hold lines another block's writes made stale.
    const int splits = gridDim.y;
#pragma unroll 1
    for (int ch = threadIdx.x; ch < C; ch += IGC_THREADS)
    {
        double n = 0.0, mu = 0.0, ss = 0.0;
#pragma unroll 1
        for (int s = 0; s < splits; s++)
        {
            const double* p = partial + (long long)s * 3 * C;
            bn_chan_merge(n, mu, ss, __ldcg(p + 2 * C + ch), __ldcg(p + ch), __ldcg(p + C + ch));
        }
        const double biased = ss / M, unbiased = ss / (M - 1);
        const double m = momentum;
        saveMean[ch] = (float)mu;
        saveInvStd[ch] = (float)(1.0 / sqrt(biased + (double)eps));
        runningMean[ch] = (float)((1.0 - m) * (double)runningMean[ch] + m * mu);
        runningVar[ch] = (float)((1.0 - m) * (double)runningVar[ch] + m * unbiased);
    }
}

extern "C" __global__ void __launch_bounds__(IGC_THREADS)
    batchnorm_eval_stats(const float* __restrict__ runningMean, const float* __restrict__ runningVar,
                         float* __restrict__ saveMean, float* __restrict__ saveInvStd, int C, float eps)
{
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    saveMean[c] = runningMean[c];
    saveInvStd[c] = (float)(1.0 / sqrt((double)runningVar[c] + (double)eps));
}

// x and y are not __restrict__: the apply may run in place.
extern "C" __global__ void __launch_bounds__(IGC_THREADS)
    batchnorm_forward_apply(const float* x, const float* __restrict__ gamma, const float* __restrict__ beta,
                            const float* __restrict__ mean, const float* __restrict__ invStd, float* y,
                            int M, int C, int act, const float* __restrict__ residual)
{
    if (C % 4 == 0 && igc_aligned16(x) && igc_aligned16(y) && igc_aligned16(residual))
    {
        // float4 over channels: quad q covers channels (q mod C/4)·4 .. +3 of one row.
        const int CQ = C / 4;
        IGC_GRID_LOOP(q, M * CQ)
        {
            const int c = (int)(q % (unsigned)CQ) * 4;
            const float4 v = reinterpret_cast<const float4*>(x)[q];
            float r[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
            for (int t = 0; t < 4; t++)
                r[t] = igc_activate(act, fmaf((r[t] - __ldg(mean + c + t)) * __ldg(invStd + c + t), __ldg(gamma + c + t),
                                              __ldg(beta + c + t)));
            if (residual)
            {
                const float4 s = __ldg(reinterpret_cast<const float4*>(residual) + q);
                r[0] += s.x; r[1] += s.y; r[2] += s.z; r[3] += s.w;
            }
            reinterpret_cast<float4*>(y)[q] = make_float4(r[0], r[1], r[2], r[3]);
        }
        return;
    }
    IGC_GRID_LOOP(i, M * C)
    {
        const int c = (int)(i % (unsigned)C);
        const float v = igc_activate(act, fmaf((x[i] - __ldg(mean + c)) * __ldg(invStd + c), __ldg(gamma + c), __ldg(beta + c)));
        y[i] = residual ? v + __ldg(residual + i) : v;
    }
}

/// Whether ĝ passes the activation at an element of x: y recomputed with batchnorm_forward_apply's
/// own expression (so bit for bit the y it wrote) and judged by igc_passes.
__device__ __forceinline__ bool bn_passes(int act, float x, float mean, float invStd, float gamma, float beta)
{
    return act == 0 || igc_passes(act, igc_activate(act, fmaf((x - mean) * invStd, gamma, beta)));
}

extern "C" __global__ void __launch_bounds__(IGC_THREADS)
    batchnorm_backward_stats(const float* __restrict__ x, const float* __restrict__ gamma, const float* __restrict__ beta,
                             const float* __restrict__ dy, const float* __restrict__ mean, const float* __restrict__ invStd,
                             double* __restrict__ partial, unsigned* __restrict__ counter, int M, int C, int act,
                             float* __restrict__ dgamma, float* __restrict__ dbeta, float* __restrict__ sums)
{
    __shared__ double sG[BN_PLANES][32], sGX[BN_PLANES][32];
    const int lane = threadIdx.x % 32, plane = threadIdx.x / 32;
    const int c = blockIdx.x * 32 + lane;
    int first, last;
    bn_split_rows(M, first, last);

    double sg = 0.0, sgx = 0.0; // Σĝ, Σĝ·x̂ of this thread's rows
    if (c < C)
    {
        const float mu = __ldg(mean + c), is = __ldg(invStd + c), ga = __ldg(gamma + c), be = __ldg(beta + c);
        for (int m = first + plane; m < last; m += BN_PLANES)
        {
            const long long i = (long long)m * C + c;
            const float xi = __ldg(x + i);
            if (!bn_passes(act, xi, mu, is, ga, be)) continue;
            const float g = __ldg(dy + i);
            sg += g;
            sgx += (double)(g * ((xi - mu) * is));
        }
    }
    sG[plane][lane] = sg;
    sGX[plane][lane] = sgx;
    __syncthreads();
    if (plane == 0 && c < C)
    {
        double a = 0.0, b = 0.0;
        for (int p = 0; p < BN_PLANES; p++)
        {
            a += sG[p][lane];
            b += sGX[p][lane];
        }
        double* out = partial + (long long)blockIdx.y * 2 * C; // partial [splits, 2, C]
        out[c] = a;
        out[C + c] = b;
    }
    if (!igc_last_block(counter, gridDim.x * gridDim.y)) return;

    // The last block: each channel's splits summed in split order (__ldcg: see forward_stats).
    const int splits = gridDim.y;
    for (int ch = threadIdx.x; ch < C; ch += IGC_THREADS)
    {
        double sg = 0.0, sgx = 0.0;
        for (int s = 0; s < splits; s++)
        {
            sg += __ldcg(partial + (long long)s * 2 * C + ch);
            sgx += __ldcg(partial + (long long)s * 2 * C + C + ch);
        }
        if (dbeta) dbeta[ch] += (float)sg;
        if (dgamma) dgamma[ch] += (float)sgx;
        if (sums)
        {
            sums[ch] = (float)sg;
            sums[C + ch] = (float)sgx;
        }
    }
}

extern "C" __global__ void __launch_bounds__(IGC_THREADS)
    batchnorm_backward_data(const float* __restrict__ x, const float* __restrict__ gamma, const float* __restrict__ beta,
                            const float* __restrict__ dy, const float* __restrict__ mean,
                            const float* __restrict__ invStd, const float* __restrict__ sums, float* __restrict__ dx,
                            int M, int C, int act, int training, int accumulate)
{
    const float invM = 1.0f / (float)M;
    IGC_GRID_LOOP(i, M * C)
    {
        const int c = (int)(i % (unsigned)C);
        const float is = __ldg(invStd + c), mu = __ldg(mean + c), ga = __ldg(gamma + c);
        const float xi = training || act != 0 ? __ldg(x + i) : 0.0f; // eval without activation needs no x
        float d = bn_passes(act, xi, mu, is, ga, __ldg(beta + c)) ? __ldg(dy + i) : 0.0f;
        if (training)
        {
            const float xhat = (xi - mu) * is;
            d = d - __ldg(sums + c) * invM - xhat * (__ldg(sums + C + c) * invM);
        }
        igc_write_grad(dx + i, ga * is * d, accumulate);
    }
}
