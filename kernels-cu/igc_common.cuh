// igc_common.cuh — device helpers shared by the Igcv3 kernels (included by every .cu here).
//
// The host must hand this file to NVRTC as a header named "igc_common.cuh" (nvrtcCreateProgram's
// headers/includeNames), or compile with --include-path pointing at kernels-cu/.
// Nothing here is an entry point; every kernel lives in its family's .cu file.
//
// Conventions of all kernels:
// - Blocks are 1-D with exactly IGC_THREADS = 256 threads (the block reductions and the GEMM
//   thread grid assume it); each file's header gives the grid of each kernel.
// - float32 tensors (pointwise_bf16.cu: bf16 activations, as unsigned short; see below), dense, row-major; activations NHWC; sizes are int, so every tensor (and every
//   workspace) must hold fewer than 2^31 elements. Pointers are device pointers to the first
//   element of the (possibly offset) view; kernels check 16-byte alignment themselves before
//   taking float4 paths, so any element offset is safe.
// - Forward kernels overwrite outputs; backward kernels ACCUMULATE (+=) into gradients.
// - Reductions are deterministic: no float atomics anywhere. Large reductions write per-block
//   partial sums to a host-provided workspace and a second small kernel adds them in a fixed order.
// - Activation codes match the C# enum Igcv3.Engine.Activation: 0 None, 1 Relu, 2 Relu6.
// - Channel permutation P(G) (the IGC interleave): out[j*G + g] = in[g*(C/G) + j]. A group count
//   G <= 1 means identity.
#pragma once

#define IGC_THREADS 256

/// Grid-stride loop over i in [0, n) (n an int >= 0). The counter is unsigned so that i + stride
/// cannot overflow for any n < 2^31; any grid size >= 1 is correct.
#define IGC_GRID_LOOP(i, n) \
    for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < (unsigned)(n); i += gridDim.x * blockDim.x)

// ---- activations -------------------------------------------------------------------------

/// act(v): 0 identity, 1 max(v, 0), 2 min(max(v, 0), 6). Written with comparisons rather than
/// fmaxf so that a NaN propagates (as .NET's Max/Clamp on the CPU reference do) instead of
/// turning into 0 and hiding a divergence.
__device__ __forceinline__ float igc_activate(int act, float v)
{
    if (act == 1) return v < 0.0f ? 0.0f : v;
    if (act == 2) return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v);
    return v;
}

/// Whether the gradient passes the activation, judged from its OUTPUT y:
/// ReLU where y > 0, ReLU6 where 0 < y < 6 (the same sets as on the input).
__device__ __forceinline__ bool igc_passes(int act, float y)
{
    if (act == 1) return y > 0.0f;
    if (act == 2) return y > 0.0f && y < 6.0f;
    return true;
}

/// A backward kernel's write of an input gradient: *p += v when `accumulate` (the gradient already
/// holds another consumer's share), *p = v when not: the host passes 0 to the gradient's first
/// writer, whose memory is then never read (it may be uninitialised), so a step needs no pass
/// zeroing its activation gradients. old + v, as the accumulating form always added.
__device__ __forceinline__ void igc_write_grad(float* p, float v, int accumulate) { *p = accumulate ? *p + v : v; }

__device__ __forceinline__ void igc_write_grad4(float4* p, float4 v, int accumulate)
{
    if (accumulate)
    {
        const float4 t = *p;
        v = make_float4(t.x + v.x, t.y + v.y, t.z + v.z, t.w + v.w);
    }
    *p = v;
}

__device__ __forceinline__ float igc_neg_inf() { return __int_as_float(0xff800000); }

__device__ __forceinline__ float igc_nan() { return __int_as_float(0x7fffffff); }

// ---- alignment ---------------------------------------------------------------------------

__device__ __forceinline__ bool igc_aligned16(const void* p)
{
    return (reinterpret_cast<unsigned long long>(p) & 15ull) == 0ull;
}

// ---- the IGC permutation P(G) over C channels ----------------------------------------------

/// The source channel that P(G) puts at destination d: (d mod G)·(C/G) + ⌊d/G⌋.
__device__ __forceinline__ int igc_perm_source(int d, int C, int G)
{
    if (G <= 1) return d;
    return (d % G) * (C / G) + d / G;
}

/// The destination channel that P(G) moves source s to: (s mod C/G)·G + ⌊s/(C/G)⌋.
__device__ __forceinline__ int igc_perm_destination(int s, int C, int G)
{
    if (G <= 1) return s;
    int per = C / G;
    return (s % per) * G + s / per;
}

// ---- block reductions (blockDim.x == IGC_THREADS, deterministic order) ----------------------

__device__ __forceinline__ float igc_warp_sum(float v)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/// max(a, b) that propagates a NaN from either side (fmaxf returns the other operand), by the
/// same rule as igc_activate.
__device__ __forceinline__ float igc_max(float a, float b)
{
    return (a > b || a != a) ? a : b;
}

__device__ __forceinline__ float igc_warp_max(float v)
{
    for (int o = 16; o > 0; o >>= 1) v = igc_max(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

__device__ __forceinline__ double igc_warp_sum_double(double v)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/// Sum over a 1-D block of IGC_THREADS threads; every thread gets the result. `scratch` holds
/// IGC_THREADS/32 floats; the call begins and ends with a barrier so it can be reused.
__device__ __forceinline__ float igc_block_sum(float v, float* scratch)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = igc_warp_sum(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float total = 0.0f;
#pragma unroll
    for (int i = 0; i < IGC_THREADS / 32; i++) total += scratch[i];
    __syncthreads();
    return total;
}

__device__ __forceinline__ float igc_block_max(float v, float* scratch)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = igc_warp_max(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float best = scratch[0];
#pragma unroll
    for (int i = 1; i < IGC_THREADS / 32; i++) best = igc_max(best, scratch[i]);
    __syncthreads();
    return best;
}

__device__ __forceinline__ double igc_block_sum_double(double v, double* scratch)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = igc_warp_sum_double(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    double total = 0.0;
#pragma unroll
    for (int i = 0; i < IGC_THREADS / 32; i++) total += scratch[i];
    __syncthreads();
    return total;
}

// ---- last-block finalize --------------------------------------------------------------------
//
// A split reduction (weight gradients, batch-norm sums) finishes in the kernel that computes it:
// every block writes its split's partial, fences it and takes a ticket from the counter its tile
// shares with the other splits of that tile; the block that takes the last ticket sees every
// split's partial and combines them in split order, so the result is the same whichever block that
// is (deterministic, no float atomics) and no second kernel is launched. A counter is one unsigned
// int of device memory, 0 before the launch and 0 again after it (atomicInc wraps it), so the host
// zeroes its counters once and shares them between the launches of one stream.

/// After this block wrote its partial: true in the one block of the `blocks` sharing `counter` that
/// takes the last ticket. Partials written by the others must then be read with __ldcg (around L1,
/// which may hold lines their writes made stale).
__device__ __forceinline__ bool igc_last_block(unsigned* counter, unsigned blocks)
{
    __shared__ bool sLast;
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) sLast = atomicInc(counter, blocks - 1) == blocks - 1;
    __syncthreads();
    return sLast;
}

/// Σ_{s < slices} partial[s·sliceStride + offset], added in slice order (deterministic): the same
/// additions, in the same order, whichever block runs it.
__device__ __forceinline__ float igc_sum_slices(const float* partial, long long sliceStride, long long offset, int slices)
{
    float s = 0.0f;
    for (int k = 0; k < slices; k++) s += __ldcg(partial + k * sliceStride + offset);
    return s;
}

// ---- tiled SGEMM core ----------------------------------------------------------------------
//
// C[i, j] = Σ_r A(i, r)·B(r, j) for one BM×BN output tile, r stepping BK = 16 at a time through
// [rBegin, rEnd). 256 threads as a 16×16 grid (ty = tid/16, tx = tid%16); thread (ty, tx) owns
// rows ty·TM + u and columns tx·TN + v (u < TM, v < TN), so BM = 16·TM and BN = 16·TN.
// Operands are staged through shared memory, transposed to As[r][i] and Bs[r][j], so the inner
// product reads TM (TN) consecutive floats — one 128-bit load when TM (TN) is 4.
//
// Each operand is described by a loader with:
//   static constexpr bool kAlongR;                  // true: memory is contiguous along r
//   __device__ void quad(int i, int r, float v[4]); // kAlongR: v[t] = A(i, r + t)
//                                                   // else:   v[t] = A(i + t, r)
// giving 0 outside the matrix (the last partial tile and the K remainder read as zeros).
// (For B the roles are the same with j in place of i.)

#define IGC_BK 16

// The tile widths every GEMM-shaped family instantiates, one list so that the kernels and the
// host's choice (GemmTiles.Tile: 16, 32 or 64 by the dimension) cannot drift apart.
// X(TN, BN) for kernels tiled along one dimension; XX(TM, TN, BM, BN) for the weight gradients,
// tiled along both.
#define IGC_FOR_EACH_TILE(X) X(1, 16) X(2, 32) X(4, 64)
#define IGC_FOR_EACH_TILE_PAIR(XX)                                                                 \
    XX(1, 1, 16, 16) XX(1, 2, 16, 32) XX(1, 4, 16, 64)                                             \
    XX(2, 1, 32, 16) XX(2, 2, 32, 32) XX(2, 4, 32, 64)                                             \
    XX(4, 1, 64, 16) XX(4, 2, 64, 32) XX(4, 4, 64, 64)

template <int BM, class Loader>
__device__ __forceinline__ void igc_fill_tile(float (*S)[BM + 4], const Loader& ld, int i0, int r0)
{
    if constexpr (Loader::kAlongR)
    {
        // BM rows × 4 quads of r; transposed into S[r][i].
        for (int q = threadIdx.x; q < BM * 4; q += IGC_THREADS)
        {
            const int i = q >> 2, rr = (q & 3) * 4;
            float v[4];
            ld.quad(i0 + i, r0 + rr, v);
#pragma unroll
            for (int t = 0; t < 4; t++) S[rr + t][i] = v[t];
        }
    }
    else
    {
        // BK rows of r × BM/4 quads of i; stored as they are (one 128-bit shared store).
        for (int q = threadIdx.x; q < BM * 4; q += IGC_THREADS)
        {
            const int rr = q / (BM / 4), i = (q % (BM / 4)) * 4;
            float v[4];
            ld.quad(i0 + i, r0 + rr, v);
            *reinterpret_cast<float4*>(&S[rr][i]) = make_float4(v[0], v[1], v[2], v[3]);
        }
    }
}

template <int TM, int TN, class LoaderA, class LoaderB>
__device__ __forceinline__ void igc_gemm_tile(float (&acc)[TM][TN], const LoaderA& la, const LoaderB& lb,
                                              int i0, int j0, int rBegin, int rEnd)
{
    constexpr int BM = 16 * TM, BN = 16 * TN;
    __shared__ __align__(16) float As[IGC_BK][BM + 4];
    __shared__ __align__(16) float Bs[IGC_BK][BN + 4];
    const int ty = threadIdx.x / 16, tx = threadIdx.x % 16;
#pragma unroll
    for (int u = 0; u < TM; u++)
#pragma unroll
        for (int v = 0; v < TN; v++) acc[u][v] = 0.0f;

    for (int r0 = rBegin; r0 < rEnd; r0 += IGC_BK)
    {
        igc_fill_tile<BM>(As, la, i0, r0);
        igc_fill_tile<BN>(Bs, lb, j0, r0);
        __syncthreads();
#pragma unroll
        for (int r = 0; r < IGC_BK; r++)
        {
            float a[TM], b[TN];
            if constexpr (TM == 4)
            {
                const float4 t = *reinterpret_cast<const float4*>(&As[r][ty * 4]);
                a[0] = t.x; a[1] = t.y; a[2] = t.z; a[3] = t.w;
            }
            else
            {
#pragma unroll
                for (int u = 0; u < TM; u++) a[u] = As[r][ty * TM + u];
            }
            if constexpr (TN == 4)
            {
                const float4 t = *reinterpret_cast<const float4*>(&Bs[r][tx * 4]);
                b[0] = t.x; b[1] = t.y; b[2] = t.z; b[3] = t.w;
            }
            else
            {
#pragma unroll
                for (int v = 0; v < TN; v++) b[v] = Bs[r][tx * TN + v];
            }
#pragma unroll
            for (int u = 0; u < TM; u++)
#pragma unroll
                for (int v = 0; v < TN; v++) acc[u][v] = fmaf(a[u], b[v], acc[u][v]);
        }
        __syncthreads();
    }
}

/// Stores a thread's TM x TN accumulator tile (the layout igc_gemm_tile leaves: thread (ty, tx) =
/// (threadIdx.x / 16, threadIdx.x % 16) holds rows i0 + ty*TM + u and columns j0 + tx*TN + v) into
/// a row-major weight-gradient partial: element (i, j) goes to slice[(rowBase + i) * cols + j],
/// rows >= `rows` and columns >= `cols` skipped. OVERWRITES: the *_backward_weight_reduce kernels
/// sum the split slices afterwards.
template <int TM, int TN>
__device__ __forceinline__ void igc_store_partial_tile(const float (&acc)[TM][TN], float* __restrict__ slice,
                                                       int rowBase, int rows, int cols, int i0, int j0)
{
    const int ty = threadIdx.x / 16, tx = threadIdx.x % 16;
#pragma unroll
    for (int u = 0; u < TM; u++)
    {
        const int i = i0 + ty * TM + u;
        if (i >= rows) continue;
        float* row = slice + (long long)(rowBase + i) * cols;
#pragma unroll
        for (int v = 0; v < TN; v++)
        {
            const int j = j0 + tx * TN + v;
            if (j < cols) row[j] = acc[u][v];
        }
    }
}

/// The last split of a tile: out[(rowBase + i)·cols + j] (+)= Σ_s slice_s[...] over the tile's
/// elements (i < rows, j < cols), each thread the elements igc_store_partial_tile gave it;
/// partial holds `slices` slices of sliceStride floats. `accumulate` as igc_write_grad.
template <int TM, int TN>
__device__ __forceinline__ void igc_finish_partial_tile(const float* partial, long long sliceStride, int slices,
                                                        float* __restrict__ out, int rowBase, int rows, int cols,
                                                        int i0, int j0, int accumulate)
{
    const int ty = threadIdx.x / 16, tx = threadIdx.x % 16;
#pragma unroll
    for (int u = 0; u < TM; u++)
    {
        const int i = i0 + ty * TM + u;
        if (i >= rows) continue;
        const long long row = (long long)(rowBase + i) * cols;
#pragma unroll
        for (int v = 0; v < TN; v++)
        {
            const int j = j0 + tx * TN + v;
            if (j < cols) igc_write_grad(out + row + j, igc_sum_slices(partial, sliceStride, row + j, slices), accumulate);
        }
    }
}

/// As igc_finish_partial_tile for any thread mapping (the bf16 tiles'): the last split of a
/// tileRows × tileCols tile at (i0, j0) sums every element's slices in slice order, the block's
/// threads striding over them. The fp32 GEMM tiles keep the form above: on the register-tight
/// conv2d_backward_weight_64x64 this one makes ptxas spill (sm_80, sm_86).
__device__ __forceinline__ void igc_finish_partial_rect(const float* partial, long long sliceStride, int slices,
                                                        float* __restrict__ out, int rowBase, int rows, int cols,
                                                        int i0, int j0, int tileRows, int tileCols, int accumulate)
{
    for (int e = threadIdx.x; e < tileRows * tileCols; e += IGC_THREADS)
    {
        const int i = i0 + e / tileCols, j = j0 + e % tileCols;
        if (i >= rows || j >= cols) continue;
        const long long at = (long long)(rowBase + i) * cols + j;
        igc_write_grad(out + at, igc_sum_slices(partial, sliceStride, at, slices), accumulate);
    }
}

/// The counter of this block's tile among a grid whose gridDim.z runs groups × splits (block z =
/// g·splits + s): the splits of one (x, y, g) tile share it. counters holds one per tile.
__device__ __forceinline__ unsigned* igc_tile_counter(unsigned* counters, int splits)
{
    const int g = blockIdx.z / splits;
    return counters + ((long long)g * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
}

// ---- batch statistics in a GEMM's epilogue ------------------------------------------------------
//
// A convolution whose output feeds a training-mode batch norm accumulates that norm's statistics
// while its tiles are in registers, so the batch norm needs no pass of its own over the output.
// Each thread sums its elements x and x² in double (x² of a float is exact in double, and the
// double sums keep E[x²] − E[x]² accurate when |mean| ≫ std); the block combines its 16 row
// threads in order and writes one partial per output channel; the last block of each column tile
// (igc_last_block over gridDim.x) sums the gridDim.x partials in block order and finalizes: the
// same additions in the same order whichever block that is (deterministic, no float atomics).
//   mean = Σx / M, var = max(Σx² / M − mean², 0) (biased, for the normalisation),
//   saveMean = mean, saveInvStd = 1/√(var + ε), running ← (1 − m)·running + m·(mean, var·M/(M − 1)).
struct IgcBatchStats
{
    double* partial;      // [gridDim.x, 2, C] doubles: (Σx, Σx²) of each row block; null: no statistics
    unsigned* counters;   // one per column tile: gridDim.y·gridDim.z, 0 before the launch and after it
    float* runningMean;   // [C], updated in place
    float* runningVar;    // [C]
    float* saveMean;      // [C], overwritten
    float* saveInvStd;    // [C]
    float momentum, eps;
};

/// Channel c's statistics from its sums over the M values: the formulas above.
__device__ __forceinline__ void igc_stats_finalize(const IgcBatchStats& st, int c, double s, double q, int M)
{
    const double mean = s / M, var = fmax(q / M - mean * mean, 0.0), m = st.momentum;
    st.saveMean[c] = (float)mean;
    st.saveInvStd[c] = (float)(1.0 / sqrt(var + (double)st.eps));
    st.runningMean[c] = (float)((1.0 - m) * (double)st.runningMean[c] + m * mean);
    st.runningVar[c] = (float)((1.0 - m) * (double)st.runningVar[c] + m * var * ((double)M / (M - 1)));
}

/// Block `block`'s partial (Σx, Σx²) of channel c: partial [blocks, 2, C].
__device__ __forceinline__ void igc_stats_write_partial(const IgcBatchStats& st, unsigned block, int c, int C, double s, double q)
{
    st.partial[(2LL * block) * C + c] = s;
    st.partial[(2LL * block + 1) * C + c] = q;
}

/// In the last block: channel c's partials of the `blocks` blocks summed in block order, then
/// finalized over the M values (__ldcg: the other blocks wrote them).
__device__ __forceinline__ void igc_stats_finish_channel(const IgcBatchStats& st, unsigned blocks, int c, int C, int M)
{
    double s = 0.0, q = 0.0;
    for (unsigned b = 0; b < blocks; b++)
    {
        s += __ldcg(st.partial + (2LL * b) * C + c);
        q += __ldcg(st.partial + (2LL * b + 1) * C + c);
    }
    igc_stats_finalize(st, c, s, q, M);
}

/// Adds the tile's valid elements (rows i0 + ty·TM + u < M, columns j0 + tx·TN + v < cols) to this
/// thread's per-column sums.
template <int TM, int TN>
__device__ __forceinline__ void igc_stats_add_tile(const float (&acc)[TM][TN], int i0, int M, int j0, int cols,
                                                   double (&sum)[TN], double (&sq)[TN])
{
    const int ty = threadIdx.x / 16, tx = threadIdx.x % 16;
#pragma unroll
    for (int u = 0; u < TM; u++)
    {
        if (i0 + ty * TM + u >= M) continue;
#pragma unroll
        for (int v = 0; v < TN; v++)
        {
            if (j0 + tx * TN + v >= cols) continue;
            const double x = acc[u][v];
            sum[v] += x;
            sq[v] = fma(x, x, sq[v]);
        }
    }
}

/// After the block's last tile: its partial per column, then (in the column tile's last block)
/// the finalized statistics. Column n (< cols) of the tile is channel
/// igc_perm_destination(channelBase + j0 + n, C, shuffle) of the C output channels.
template <int TN>
__device__ __forceinline__ void igc_stats_finish(const IgcBatchStats& st, const double (&sum)[TN], const double (&sq)[TN],
                                                 int M, int j0, int cols, int channelBase, int C, int shuffle)
{
    __shared__ double red[16][16 * TN][2]; // [row thread][column][Σx, Σx²]
    const int ty = threadIdx.x / 16, tx = threadIdx.x % 16;
#pragma unroll
    for (int v = 0; v < TN; v++)
    {
        red[ty][tx * TN + v][0] = sum[v];
        red[ty][tx * TN + v][1] = sq[v];
    }
    __syncthreads();
    const int col = threadIdx.x;
    const bool mine = col < 16 * TN && j0 + col < cols;
    const int c = mine ? igc_perm_destination(channelBase + j0 + col, C, shuffle) : 0;
    if (mine)
    {
        double s = 0.0, q = 0.0;
        for (int t = 0; t < 16; t++)
        {
            s += red[t][col][0];
            q += red[t][col][1];
        }
        igc_stats_write_partial(st, blockIdx.x, c, C, s, q);
    }
    if (!igc_last_block(st.counters + (long long)blockIdx.z * gridDim.y + blockIdx.y, gridDim.x) || !mine) return;
    igc_stats_finish_channel(st, gridDim.x, c, C, M);
}

/// A row-major matrix slice read in quads along its contiguous axis, with an optional gather
/// (the IGC permutation) on the column index. Element (row, col), for row < rows, col < cols:
///   base[row·stride + map(colBase + col)],   map = P(G)'s source map when G > 1, else identity.
/// `vec` (decided once per block) says a quad may be one float4 load: no gather, base,
/// stride and colBase all multiples of 4 floats.
struct IgcRowMatrix
{
    const float* base;
    int rows, cols, stride, colBase;
    int permC, permG; // gather: column c reads base[.. + igc_perm_source(colBase + c, permC, permG)]
    bool vec;

    __device__ __forceinline__ void init(const float* b, int nRows, int nCols, int rowStride, int columnBase,
                                         int pc, int pg)
    {
        base = b; rows = nRows; cols = nCols; stride = rowStride; colBase = columnBase; permC = pc; permG = pg;
        vec = pg <= 1 && igc_aligned16(b) && (rowStride % 4) == 0 && (columnBase % 4) == 0;
    }

    /// v[t] = M(row, col + t), zero outside.
    __device__ __forceinline__ void quad_along_cols(int row, int col, float v[4]) const
    {
        if (row >= rows)
        {
            v[0] = v[1] = v[2] = v[3] = 0.0f;
            return;
        }
        const float* p = base + (long long)row * stride;
        if (vec && (col & 3) == 0 && col + 3 < cols)
        {
            const float4 t = __ldg(reinterpret_cast<const float4*>(p + colBase + col));
            v[0] = t.x; v[1] = t.y; v[2] = t.z; v[3] = t.w;
            return;
        }
        if (permG <= 1)
        {
#pragma unroll
            for (int t = 0; t < 4; t++) v[t] = col + t < cols ? __ldg(p + colBase + col + t) : 0.0f;
            return;
        }
        // Gathered quad: source of d is (d mod G)·(C/G) + ⌊d/G⌋; one division for the four.
        const int d0 = colBase + col, per = permC / permG;
        int gi = d0 % permG, ji = d0 / permG;
#pragma unroll
        for (int t = 0; t < 4; t++)
        {
            v[t] = col + t < cols ? __ldg(p + gi * per + ji) : 0.0f;
            if (++gi == permG)
            {
                gi = 0;
                ji++;
            }
        }
    }
};

/// P(G)⁻¹ = P(C/G): the group count whose source map is P(G)'s destination map (0 = identity).
__device__ __forceinline__ int igc_inverse_groups(int C, int G) { return G > 1 ? C / G : 0; }

/// GEMM operand A(i, r) = M(i, r): the matrix's rows are the output index, its (contiguous)
/// columns the reduction index. (As operand B, read j for i.)
struct IgcRowsAreOutput
{
    static constexpr bool kAlongR = true;
    IgcRowMatrix m;
    __device__ __forceinline__ void quad(int i, int r, float v[4]) const { m.quad_along_cols(i, r, v); }
};

/// GEMM operand A(i, r) = M(r, i): the matrix's rows are the reduction index, its (contiguous)
/// columns the output index.
struct IgcRowsAreReduction
{
    static constexpr bool kAlongR = false;
    IgcRowMatrix m;
    __device__ __forceinline__ void quad(int i, int r, float v[4]) const { m.quad_along_cols(r, i, v); }
};

// ---- bfloat16 storage and the bf16 tensor-core product ---------------------------------------
//
// bf16 values are stored as unsigned short (the upper 16 bits of a float32: same 8-bit exponent,
// 7 mantissa bits), so no cuda_bf16.h is needed under NVRTC and the emulation runs the same code.
// Narrowing rounds to nearest, ties to even, exactly as Igcv3.Engine.BFloat16.FromSingle (the CPU
// reference) and PyTorch's .to(torch.bfloat16): overflow past half an ulp above the largest
// finite bf16 gives ±infinity, NaN stays a quiet NaN (sign and top payload bits kept).

__device__ __forceinline__ unsigned short igc_bf16_from_float(float f)
{
    unsigned u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((u >> 16) | 0x0040u);
    u += 0x7fffu + ((u >> 16) & 1u); // carries into bit 16 when the dropped half rounds up
    return (unsigned short)(u >> 16);
}

__device__ __forceinline__ float igc_float_from_bf16(unsigned short h) { return __uint_as_float((unsigned)h << 16); }

/// Two bf16 in one 32-bit register, `low` in bits 0..15: the packing of an mma operand register,
/// whose lower half holds the lower-indexed element.
__device__ __forceinline__ unsigned igc_bf16_pair(unsigned short low, unsigned short high)
{
    return (unsigned)low | ((unsigned)high << 16);
}

/// d += A·B for one warp: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32, A 16x16 bf16
/// (row-major), B 16x8 bf16 (column-major), d 16x8 fp32 accumulated in place. All 32 lanes of the
/// warp must call it together (it is a warp collective, like a shuffle). With g = lane / 4 and
/// t = lane % 4 (PTX ISA, "Matrix Fragments for mma.m16n8k16 with floating point type"), each
/// register holding two consecutive-k elements, the lower k in the lower half:
///   a[0] = A(g, 2t..2t+1)    a[1] = A(g+8, 2t..2t+1)    a[2] = A(g, 2t+8..)    a[3] = A(g+8, 2t+8..)
///   b[0] = B(2t..2t+1, g)    b[1] = B(2t+8..2t+9, g)
///   d[0] = D(g, 2t)  d[1] = D(g, 2t+1)  d[2] = D(g+8, 2t)  d[3] = D(g+8, 2t+1)
/// Needs sm_80 or newer. The host emulation (kernels-cu/emulation/cuda_emu.h) provides this same
/// function, gathering the 32 lanes' fragments by this layout.
#ifdef __CUDA_ARCH__
__device__ __forceinline__ void igc_mma_bf16_m16n8k16(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2])
{
#if __CUDA_ARCH__ >= 800
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
                 "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
    __trap(); // no bf16 tensor cores before Ampere: the host never launches the bf16 kernels there
#endif
}
#endif
