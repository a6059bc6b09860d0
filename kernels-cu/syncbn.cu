// syncbn.cu — the device side of batch norm with statistics over all ranks (--sync-bn,
// Igcv3.Engine's SyncBatchNorm): each rank's per-channel statistics packed for one sum all-reduce,
// their combination, and the backward's correction coefficients, so that the [C] vectors never
// pass through the host (the all-reduces run on the communication stream, ordered by events).
//
//   W ranks, C channels. gathered [W, 1 + 2C] floats: row r = (M_r, μ_r[C], σ²_r[C]), the rows,
//   batch mean and BIASED variance of rank r; zero before each rank packs its own row, so the sum
//   all-reduce leaves every row on every rank.
//
// syncbn_pack(const float* mean, const float* invStd, float* gathered, int C, int rank, float rows, float eps)
//   grid = ceil((1 + C) / 256). OVERWRITES row `rank` of gathered: (rows, mean, 1/invStd² − eps),
//   the variance that the training forward's invStd = 1/√(σ² + ε) came from (in double).
// syncbn_combine(const float* gathered, int W, int C, float momentum, float* runningMean,
//                float* runningVar, float* mean, float* var)
//   grid = ceil(C / 256). Chan's parallel combination in double, ranks in order 0..W−1:
//     M = Σ M_r;  μ = Σ M_r·μ_r / M;  σ² = Σ M_r·(σ²_r + (μ_r − μ)²) / M
//   (no cancellation, unlike Σx²/M − μ²). OVERWRITES mean, var (biased); running ← (1 − m)·running
//   + m·(μ, σ²·M/(M − 1)), as PyTorch's SyncBatchNorm (M >= 2: checked by the caller).
// syncbn_correction(const float* sums, const float* gamma, const float* invStd, const float* gathered,
//                   int W, int C, float* slope, float* shift)
//   grid = ceil(C / 256). sums [2, C] = (Σĝ, Σĝ·x̂) summed over all ranks; with M from gathered,
//   OVERWRITES slope = −γ·invstd·Σĝx̂/M and shift = −γ·invstd·Σĝ/M: the batch statistics' share
//   of dx is slope·x̂ + shift, an eval-mode batch norm of x with (slope, shift) for (γ, β).
// Dynamic shared memory 0 for every kernel; blocks of 256 threads, 1-D.
#include "igc_common.cuh"

extern "C" __global__ void __launch_bounds__(IGC_THREADS)
    syncbn_pack(const float* __restrict__ mean, const float* __restrict__ invStd, float* __restrict__ gathered,
                int C, int rank, float rows, float eps)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    float* row = gathered + (long long)rank * (1 + 2 * C);
    if (i == 0) row[0] = rows;
    if (i >= C) return;
    const double s = invStd[i];
    row[1 + i] = mean[i];
    row[1 + C + i] = (float)(1.0 / (s * s) - (double)eps);
}

/// M = Σ M_r over the gathered rows, in rank order.
__device__ __forceinline__ double syncbn_total(const float* gathered, int W, int C)
{
    double total = 0.0;
    for (int r = 0; r < W; r++) total += gathered[(long long)r * (1 + 2 * C)];
    return total;
}

extern "C" __global__ void __launch_bounds__(IGC_THREADS)
    syncbn_combine(const float* __restrict__ gathered, int W, int C, float momentum,
                   float* __restrict__ runningMean, float* __restrict__ runningVar,
                   float* __restrict__ mean, float* __restrict__ var)
{
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    const int width = 1 + 2 * C;
    const double total = syncbn_total(gathered, W, C);
    double mu = 0.0;
    for (int r = 0; r < W; r++) mu += (double)gathered[(long long)r * width] * gathered[(long long)r * width + 1 + c] / total;
    double sigma2 = 0.0;
    for (int r = 0; r < W; r++)
    {
        const float* row = gathered + (long long)r * width;
        const double d = row[1 + c] - mu;
        sigma2 += (double)row[0] * (row[1 + C + c] + d * d) / total;
    }
    const double m = momentum;
    mean[c] = (float)mu;
    var[c] = (float)sigma2;
    runningMean[c] = (float)((1.0 - m) * (double)runningMean[c] + m * mu);
    runningVar[c] = (float)((1.0 - m) * (double)runningVar[c] + m * sigma2 * total / (total - 1.0));
}

extern "C" __global__ void __launch_bounds__(IGC_THREADS)
    syncbn_correction(const float* __restrict__ sums, const float* __restrict__ gamma, const float* __restrict__ invStd,
                      const float* __restrict__ gathered, int W, int C, float* __restrict__ slope, float* __restrict__ shift)
{
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    const double scale = (double)gamma[c] * invStd[c] / syncbn_total(gathered, W, C);
    shift[c] = (float)(-scale * sums[c]);
    slope[c] = (float)(-scale * sums[C + c]);
}
