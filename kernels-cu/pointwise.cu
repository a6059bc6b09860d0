// pointwise.cu — grouped 1x1 convolution with the IGC permutation fused on its input and/or output,
// and the explicit channel shuffle (the reference that the fused forms are tested against).
//
// Op (IBackend.PointwiseForward/Backward, PointwiseSpec):
//   y = P(Gout) · conv1x1_groups(P(Gin) · x)
//   x [M, Cin] (M = N·H·W rows of NHWC), w [Cout, Cin/groups], y [M, Cout]
//   P(G): out[j*G + g] = in[g*(C/G) + j]; G <= 1 means identity (pass 0 for "no shuffle").
// With Kg = Cin/groups, Ng = Cout/groups, x'[m, c] = x[m, src_in(c)], z[m, s] = y[m, dst_out(s)]:
//   z[m, g*Ng + n] = Σ_k w[g*Ng + n, k] · x'[m, g*Kg + k]
// The permutations are index arithmetic inside the tile loads and the epilogue stores: no pass
// over memory. Forward OVERWRITES y; backward ACCUMULATES into dx and dw:
//   dx[m, src_in(g*Kg + k)] += Σ_n dz[m, g*Ng + n] · w[g*Ng + n, k]       (dz[m, s] = dy[m, dst_out(s)])
//   dw[g*Ng + n, k]         += Σ_m dz[m, g*Ng + n] · x'[m, g*Kg + k]
// Preconditions (checked by the host): Cin % groups == 0, Cout % groups == 0, Cin % Gin == 0 when
// Gin > 1, Cout % Gout == 0 when Gout > 1; every tensor and workspace below 2^31 elements.
//
// All three are tiled SGEMMs (igc_gemm_tile in igc_common.cuh): 256 threads, BK = 16, tile
// BM×BN with BM, BN ∈ {16, 32, 64}, each thread a (BM/16)×(BN/16) register tile, float4 global
// loads wherever the operand is unpermuted and 16-byte aligned (odd channel counts fall back to
// guarded scalar loads). Kernel names carry the tile: <name>_<BM>x<BN>. Tile choice for a
// dimension d (the host's rule): tile(d) = d <= 16 ? 16 : d <= 32 ? 32 : 64.
// Every variant is correct for any sizes (partial tiles are guarded); the rule only saves work.
// Static shared memory only (<= 8.5 KB, the forward <= 25 KB with its statistics); dynamic shared memory 0 for every kernel here.
//
// ---- kernels and launch contract (block = 256 threads, 1-D, for every kernel) ---------------
//
// pointwise_forward_64x{16,32,64}(const float* x, const float* w, float* y,
//                                 int M, int Cin, int Cout, int groups, int inShuffle, int outShuffle,
//                                 double* statPartial, unsigned* statCounters, float* runningMean,
//                                 float* runningVar, float* saveMean, float* saveInvStd, float momentum, float eps)
//   grid = (rowBlocks, ceil(Ng / BN), groups), BN = tile(Ng) from the kernel name; block x takes the
//   64-row tiles x, x + rowBlocks, ...; any rowBlocks in [1, ceil(M / 64)] is correct.
//   statPartial null: no statistics (the other stat arguments are ignored); rowBlocks = ceil(M / 64).
//   Otherwise the training batch statistics of y's Cout channels (IgcBatchStats in igc_common.cuh):
//   statPartial [rowBlocks, 2, Cout] doubles (overwritten), statCounters one per column tile
//   (ceil(Ng / BN)·groups, zero before and after), saveMean/saveInvStd overwritten, the running
//   statistics updated; M >= 2. Suggested rowBlocks = clamp(ceil(4·SMs / (ceil(Ng/BN)·groups)), 1,
//   min(ceil(M / 64), 256)).
//
// pointwise_backward_data_64x{16,32,64}(const float* dy, const float* w, float* dx,
//                                       int M, int Cin, int Cout, int groups, int inShuffle, int outShuffle,
//                                       int accumulate)
//   dx += ... (dx = ... when accumulate == 0: igc_write_grad); grid = (ceil(M / 64), ceil(Kg / BN), groups), BN = tile(Kg).
//
// pointwise_backward_weight_{BM}x{BN}(const float* dy, const float* x, float* partial, unsigned* counters,
//                                     float* dw, int M, int Cin, int Cout, int groups, int inShuffle,
//                                     int outShuffle, int splits, int rowsPerSplit, int accumulate)
//   BM = tile(Ng), BN = tile(Kg), all nine {16,32,64}² combinations exist.
//   The M rows are cut into `splits` ranges of `rowsPerSplit` rows (rowsPerSplit >= 1, a multiple
//   of 16 is best; splits·rowsPerSplit >= M); block (.., .., z) reduces range s = z % splits of
//   group g = z / splits in registers and OVERWRITES its slice of the workspace
//     partial [splits, Cout, Kg]   (splits·Cout·Kg floats, device memory owned by the host);
//   the last split of each (x, y, g) tile to finish (igc_last_block) sums the tile's slices in
//   slice order into dw (dw += Σ_s; dw = Σ_s when accumulate == 0). counters: one unsigned per
//   tile, gridDim.x·gridDim.y·groups of them, 0 before the launch and 0 after it.
//   grid = (ceil(Ng / BM), ceil(Kg / BN), groups·splits), groups·splits <= 65535.
//   Suggested: splits = clamp(ceil(4·SMs / (ceil(Ng/BM)·ceil(Kg/BN)·groups)), 1, ceil(M/64)),
//   rowsPerSplit = roundup(ceil(M / splits), 16), then splits = ceil(M / rowsPerSplit).
//
// channel_shuffle_forward(const float* x, float* y, int rows, int C, int G)
//   y[r, j*G + g] = x[r, g*(C/G) + j] (overwrite). x, y [rows, C]; must not alias.
// channel_shuffle_backward(const float* dy, float* dx, int rows, int C, int G, int accumulate)
//   dx (+)= P(G)⁻¹(dy): dx[r, g*(C/G) + j] += dy[r, j*G + g]. Must not alias.
//   Both: grid = min(ceil(rows·C / 256), 4096) (grid-stride, any grid >= 1 is correct).
#include "igc_common.cuh"

template <int TM, int TN>
__device__ __forceinline__ void pointwise_forward_impl(const float* __restrict__ x, const float* __restrict__ w,
                                                       float* __restrict__ y, int M, int Cin, int Cout, int groups,
                                                       int inShuffle, int outShuffle, const IgcBatchStats& stats)
{
    const int Kg = Cin / groups, Ng = Cout / groups, g = blockIdx.z;
    const int j0 = blockIdx.y * (16 * TN);
    IgcRowsAreOutput a; // A(m, k) = x'[m, g*Kg + k] = x[m, src_in(g*Kg + k)]      x [M, Cin]
    a.m.init(x, M, Kg, Cin, g * Kg, Cin, inShuffle);
    IgcRowsAreOutput b; // B(k, n) = w[g*Ng + n, k]                                   w [Cout, Kg]
    b.m.init(w + (long long)g * Ng * Kg, Ng, Kg, Kg, 0, 0, 0);
    const int ty = threadIdx.x / 16, tx = threadIdx.x % 16;
    const bool vec = outShuffle <= 1 && igc_aligned16(y) && Cout % 4 == 0 && (g * Ng) % 4 == 0;
    const int n = j0 + tx * TN;
    double sum[TN], sq[TN];
#pragma unroll
    for (int v = 0; v < TN; v++) sum[v] = sq[v] = 0.0;

    // Row tiles blockIdx.x, + gridDim.x, ...: one each without statistics (grid.x = ceil(M / 64)),
    // several with them, so that few row blocks leave partials for the last block to sum.
    for (int i0 = blockIdx.x * (16 * TM); i0 < M; i0 += gridDim.x * (16 * TM))
    {
        float acc[TM][TN];
        igc_gemm_tile<TM, TN>(acc, a, b, i0, j0, 0, Kg);

        // y[m, dst_out(g*Ng + n)] = z[m, g*Ng + n]                                      y [M, Cout]
#pragma unroll
        for (int u = 0; u < TM; u++)
        {
            const int m = i0 + ty * TM + u;
            if (m >= M) continue;
            float* row = y + (long long)m * Cout;
            if constexpr (TN == 4)
            {
                if (vec && n + 3 < Ng)
                {
                    *reinterpret_cast<float4*>(row + g * Ng + n) = make_float4(acc[u][0], acc[u][1], acc[u][2], acc[u][3]);
                    continue;
                }
            }
#pragma unroll
            for (int v = 0; v < TN; v++)
            {
                if (n + v < Ng) row[igc_perm_destination(g * Ng + n + v, Cout, outShuffle)] = acc[u][v];
            }
        }
        if (stats.partial) igc_stats_add_tile<TM, TN>(acc, i0, M, j0, Ng, sum, sq);
    }
    if (stats.partial) igc_stats_finish<TN>(stats, sum, sq, M, j0, Ng, g * Ng, Cout, outShuffle);
}

template <int TM, int TN>
__device__ __forceinline__ void pointwise_backward_data_impl(const float* __restrict__ dy, const float* __restrict__ w,
                                                             float* __restrict__ dx, int M, int Cin, int Cout, int groups,
                                                             int inShuffle, int outShuffle, int accumulate)
{
    const int Kg = Cin / groups, Ng = Cout / groups, g = blockIdx.z;
    const int i0 = blockIdx.x * (16 * TM), j0 = blockIdx.y * (16 * TN);
    IgcRowsAreOutput a;    // A(m, n) = dz[m, g*Ng + n] = dy[m, dst_out(g*Ng + n)]     dy [M, Cout]
    a.m.init(dy, M, Ng, Cout, g * Ng, Cout, igc_inverse_groups(Cout, outShuffle));
    IgcRowsAreReduction b; // B(n, k) = w[g*Ng + n, k]                                 w [Cout, Kg]
    b.m.init(w + (long long)g * Ng * Kg, Ng, Kg, Kg, 0, 0, 0);
    float acc[TM][TN];
    igc_gemm_tile<TM, TN>(acc, a, b, i0, j0, 0, Ng);

    // dx[m, src_in(g*Kg + k)] += dx'[m, g*Kg + k]                                       dx [M, Cin]
    const int ty = threadIdx.x / 16, tx = threadIdx.x % 16;
    const bool vec = inShuffle <= 1 && igc_aligned16(dx) && Cin % 4 == 0 && (g * Kg) % 4 == 0;
    const int k = j0 + tx * TN;
#pragma unroll
    for (int u = 0; u < TM; u++)
    {
        const int m = i0 + ty * TM + u;
        if (m >= M) continue;
        float* row = dx + (long long)m * Cin;
        if constexpr (TN == 4)
        {
            if (vec && k + 3 < Kg)
            {
                igc_write_grad4(reinterpret_cast<float4*>(row + g * Kg + k), make_float4(acc[u][0], acc[u][1], acc[u][2], acc[u][3]),
                                accumulate);
                continue;
            }
        }
#pragma unroll
        for (int v = 0; v < TN; v++)
        {
            if (k + v < Kg) igc_write_grad(row + igc_perm_source(g * Kg + k + v, Cin, inShuffle), acc[u][v], accumulate);
        }
    }
}

template <int TM, int TN>
__device__ __forceinline__ void pointwise_backward_weight_impl(const float* __restrict__ dy, const float* __restrict__ x,
                                                               float* __restrict__ partial, unsigned* __restrict__ counters,
                                                               float* __restrict__ dw, int M, int Cin, int Cout,
                                                               int groups, int inShuffle, int outShuffle, int splits,
                                                               int rowsPerSplit, int accumulate)
{
    const int Kg = Cin / groups, Ng = Cout / groups;
    const int g = blockIdx.z / splits, s = blockIdx.z % splits;
    const int i0 = blockIdx.x * (16 * TM), j0 = blockIdx.y * (16 * TN);
    const long long begin = (long long)s * rowsPerSplit;
    const int rBegin = (int)(begin < M ? begin : M);
    const int rEnd = (int)(begin + rowsPerSplit < M ? begin + rowsPerSplit : M);
    // Rows past this split's end read as zero (rows = rEnd), so any rowsPerSplit is exact.
    IgcRowsAreReduction a; // A(n, m) = dz[m, g*Ng + n] = dy[m, dst_out(g*Ng + n)]    dy [M, Cout]
    a.m.init(dy, rEnd, Ng, Cout, g * Ng, Cout, igc_inverse_groups(Cout, outShuffle));
    IgcRowsAreReduction b; // B(m, k) = x'[m, g*Kg + k] = x[m, src_in(g*Kg + k)]      x [M, Cin]
    b.m.init(x, rEnd, Kg, Cin, g * Kg, Cin, inShuffle);
    float acc[TM][TN];
    igc_gemm_tile<TM, TN>(acc, a, b, i0, j0, rBegin, rEnd);

    // partial[s, g*Ng + n, k] = acc (overwrite); the tile's last split sums them into dw [Cout, Kg].
    const long long slice = (long long)Cout * Kg;
    igc_store_partial_tile<TM, TN>(acc, partial + s * slice, g * Ng, Ng, Kg, i0, j0);
    if (igc_last_block(igc_tile_counter(counters, splits), splits))
        igc_finish_partial_tile<TM, TN>(partial, slice, splits, dw, g * Ng, Ng, Kg, i0, j0, accumulate);
}

#define IGC_PW_FORWARD(TN, BN)                                                                                  \
    extern "C" __global__ void __launch_bounds__(IGC_THREADS)                                                   \
        pointwise_forward_64x##BN(const float* __restrict__ x, const float* __restrict__ w, float* __restrict__ y, \
                                  int M, int Cin, int Cout, int groups, int inShuffle, int outShuffle,          \
                                  double* statPartial, unsigned* statCounters, float* runningMean,              \
                                  float* runningVar, float* saveMean, float* saveInvStd, float momentum,        \
                                  float eps)                                                                    \
    {                                                                                                           \
        const IgcBatchStats stats{statPartial, statCounters, runningMean, runningVar, saveMean, saveInvStd,     \
                                  momentum, eps};                                                               \
        pointwise_forward_impl<4, TN>(x, w, y, M, Cin, Cout, groups, inShuffle, outShuffle, stats);             \
    }

#define IGC_PW_BACKWARD_DATA(TN, BN)                                                                            \
    extern "C" __global__ void __launch_bounds__(IGC_THREADS) pointwise_backward_data_64x##BN(                  \
        const float* __restrict__ dy, const float* __restrict__ w, float* __restrict__ dx, int M, int Cin,      \
        int Cout, int groups, int inShuffle, int outShuffle, int accumulate)                                    \
    {                                                                                                           \
        pointwise_backward_data_impl<4, TN>(dy, w, dx, M, Cin, Cout, groups, inShuffle, outShuffle, accumulate); \
    }

#define IGC_PW_BACKWARD_WEIGHT(TM, TN, BM, BN)                                                                  \
    extern "C" __global__ void __launch_bounds__(IGC_THREADS) pointwise_backward_weight_##BM##x##BN(            \
        const float* __restrict__ dy, const float* __restrict__ x, float* __restrict__ partial,                 \
        unsigned* __restrict__ counters, float* __restrict__ dw, int M, int Cin, int Cout, int groups,          \
        int inShuffle, int outShuffle, int splits, int rowsPerSplit, int accumulate)                            \
    {                                                                                                           \
        pointwise_backward_weight_impl<TM, TN>(dy, x, partial, counters, dw, M, Cin, Cout, groups, inShuffle,   \
                                               outShuffle, splits, rowsPerSplit, accumulate);                   \
    }

IGC_FOR_EACH_TILE(IGC_PW_FORWARD)
IGC_FOR_EACH_TILE(IGC_PW_BACKWARD_DATA)
IGC_FOR_EACH_TILE_PAIR(IGC_PW_BACKWARD_WEIGHT)

// y[r, d] = x[r, src(d)]: coalesced writes, gathered reads within one row.   x, y [rows, C]
extern "C" __global__ void __launch_bounds__(IGC_THREADS)
    channel_shuffle_forward(const float* __restrict__ x, float* __restrict__ y, int rows, int C, int G)
{
    IGC_GRID_LOOP(i, rows * C)
    {
        const int c = (int)(i % (unsigned)C), rowStart = (int)i - c;
        y[i] = x[rowStart + igc_perm_source(c, C, G)];
    }
}

// dx[r, s] += dy[r, dst(s)]: coalesced read-modify-write of dx.               dy, dx [rows, C]
extern "C" __global__ void __launch_bounds__(IGC_THREADS)
    channel_shuffle_backward(const float* __restrict__ dy, float* __restrict__ dx, int rows, int C, int G, int accumulate)
{
    IGC_GRID_LOOP(i, rows * C)
    {
        const int c = (int)(i % (unsigned)C), rowStart = (int)i - c;
        igc_write_grad(dx + i, dy[rowStart + igc_perm_destination(c, C, G)], accumulate);
    }
}
