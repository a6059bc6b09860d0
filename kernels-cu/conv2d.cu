// conv2d.cu — general 2-D convolution: square kernel K, stride S, symmetric padding P, groups
// (IBackend.Conv2dForward/Backward, Conv2dSpec). Used for stems, IGCV1 group convs and dense baselines.
//
//   x [N, H, W, Cin], w OHWI [Cout, K, K, Cig], y [N, Ho, Wo, Cout]
//   Cig = Cin/groups, Cog = Cout/groups, Ho = (H + 2P − K)/S + 1, Wo = (W + 2P − K)/S + 1, R = K·K·Cig
//   y[n, ho, wo, g·Cog + co] = Σ_{kh,kw,ci} x[n, ho·S − P + kh, wo·S − P + kw, g·Cig + ci] · w[g·Cog + co, kh, kw, ci]
// Forward OVERWRITES y; backward ACCUMULATES:
//   dx[n, h, w, g·Cig + ci] += Σ_{kh,kw,co} dy[n, (h + P − kh)/S, (w + P − kw)/S, g·Cog + co] · w[g·Cog + co, kh, kw, ci]
//                                (only exact quotients inside [0, Ho) × [0, Wo))
//   dw[g·Cog + co, kh, kw, ci] += Σ_{n,ho,wo} dy[n, ho, wo, g·Cog + co] · x[n, ho·S − P + kh, wo·S − P + kw, g·Cig + ci]
// Implicit GEMM per group on the shared tiled SGEMM core (igc_common.cuh): the im2col patches are
// gathered inside the tile loads (never materialised); float4 loads when Cig % 4 == 0 (resp. Cog)
// and the tensors are 16-byte aligned, guarded scalar loads otherwise (the 3-channel stem).
// The data gradient is the same GEMM over (kh, kw, co) with the stride's non-exact taps reading zero
// (at stride 2 three quarters of the taps are such zeros: acceptable for the few layers concerned).
// Tiles: 256 threads, BK = 16, BM/BN ∈ {16, 32, 64} in the kernel name (<name>_<BM>x<BN>); the
// host's rule for a dimension d: tile(d) = d <= 16 ? 16 : d <= 32 ? 32 : 64 (every variant is correct
// for any sizes; the rule only saves work). Preconditions (host):
// Cin % groups == 0, Cout % groups == 0, Ho, Wo >= 1; tensors and workspace below 2^31 elements.
// Static shared memory only (<= 8.5 KB); dynamic shared memory 0.
//
// ---- kernels and launch contract (block = 256 threads, 1-D, for every kernel) ---------------
// All take the geometry as (int N, int H, int W, int Cin, int Cout, int K, int S, int P, int groups);
// H, W are always the INPUT sizes.
//
// conv2d_forward_64x{16,32,64}(const float* x, const float* w, float* y, <geometry>)
//   grid = (ceil(N·Ho·Wo / 64), ceil(Cog / BN), groups), BN = tile(Cog).
// conv2d_backward_data_64x{16,32,64}(const float* dy, const float* w, float* dx, <geometry>)
//   dx += ...; grid = (ceil(N·H·W / 64), ceil(Cig / BN), groups), BN = tile(Cig).
// conv2d_backward_weight_{BM}x{BN}(const float* dy, const float* x, float* partial, unsigned* counters,
//                                  float* dw, <geometry>, int splits, int rowsPerSplit, int accumulate)
//   BM = tile(Cog), BN = tile(R) (nine variants). The N·Ho·Wo output pixels are cut into `splits`
//   ranges of rowsPerSplit (splits·rowsPerSplit >= N·Ho·Wo); block z = g·splits + s OVERWRITES
//     partial [splits, Cout, R]   (splits·Cout·R floats of host-owned device workspace);
//   the last split of each (x, y, g) tile (igc_last_block) sums the tile's slices in slice order
//   into dw (+=; = when accumulate == 0). counters: one unsigned per tile (gridDim.x·gridDim.y·groups),
//   0 before the launch and 0 after it.
//   grid = (ceil(Cog / BM), ceil(R / BN), groups·splits), groups·splits <= 65535.
//   Suggested: splits = clamp(ceil(4·SMs / (tiles·groups)), 1, ceil(N·Ho·Wo / 64)),
//   rowsPerSplit = roundup(ceil(N·Ho·Wo / splits), 16), then splits = ceil(N·Ho·Wo / rowsPerSplit).
#include "igc_common.cuh"

/// The im2col matrix of group g, gathered on the fly:
///   X(p, r) = x[n, ho·S − P + kh, wo·S − P + kw, cBase + ci],  p = (n·Ho + ho)·Wo + wo < rows,
///   r = (kh·K + kw)·Cig + ci < R;  zero outside the image and outside the matrix.
struct ConvPatches
{
    const float* x;
    int rows, H, W, Cin, Ho, Wo, K, S, P, Cig, cBase, R;
    bool vec;

    /// v[t] = X(p, r + t).
    __device__ __forceinline__ void quad(int p, int r, float v[4]) const
    {
        v[0] = v[1] = v[2] = v[3] = 0.0f;
        if (p >= rows) return;
        const int wo = p % Wo, t0 = p / Wo, ho = t0 % Ho, n = t0 / Ho;
        const int h0 = ho * S - P, w0 = wo * S - P;
        const float* img = x + (long long)n * H * W * Cin + cBase;
        if (vec && (r & 3) == 0 && r + 3 < R)
        {
            // Cig % 4 == 0: the quad shares one tap (kh, kw) and four consecutive channels.
            const int ci = r % Cig, kk = r / Cig, h = h0 + kk / K, w = w0 + kk % K;
            if (h < 0 || h >= H || w < 0 || w >= W) return;
            const float4 t = __ldg(reinterpret_cast<const float4*>(img + ((long long)h * W + w) * Cin + ci));
            v[0] = t.x; v[1] = t.y; v[2] = t.z; v[3] = t.w;
            return;
        }
#pragma unroll
        for (int t = 0; t < 4; t++)
        {
            const int rr = r + t;
            if (rr >= R) break;
            const int ci = rr % Cig, kk = rr / Cig, h = h0 + kk / K, w = w0 + kk % K;
            if (h >= 0 && h < H && w >= 0 && w < W) v[t] = __ldg(img + ((long long)h * W + w) * Cin + ci);
        }
    }
};

/// Operand with the patches' rows as the output index (forward's A).
struct ConvPatchesRowsAreOutput
{
    static constexpr bool kAlongR = true;
    ConvPatches m;
    __device__ __forceinline__ void quad(int i, int r, float v[4]) const { m.quad(i, r, v); }
};

/// Operand with the patches' rows as the reduction index (the weight gradient's B).
struct ConvPatchesRowsAreReduction
{
    static constexpr bool kAlongR = false;
    ConvPatches m;
    __device__ __forceinline__ void quad(int j, int r, float v[4]) const { m.quad(r, j, v); }
};

/// The output gradient seen from input pixel q (the data gradient's A), group g:
///   D(q, r) = dy[n, (h + P − kh)/S, (w + P − kw)/S, cBase + co],  q = (n·H + h)·W + w < rows,
///   r = (kh·K + kw)·Cog + co < RD = K·K·Cog;  zero when a quotient is inexact or out of range.
struct ConvOutputGrads
{
    static constexpr bool kAlongR = true;
    const float* dy;
    int rows, H, W, Cout, Ho, Wo, K, S, P, Cog, cBase, RD;
    bool vec;

    /// (ho, wo) of tap kk for input (h, w), or false when no output reads it through that tap.
    __device__ __forceinline__ bool source(int h, int w, int kk, int& ho, int& wo) const
    {
        const int nh = h + P - kk / K, nw = w + P - kk % K;
        if (nh < 0 || nw < 0 || nh % S != 0 || nw % S != 0) return false;
        ho = nh / S;
        wo = nw / S;
        return ho < Ho && wo < Wo;
    }

    __device__ __forceinline__ void quad(int q, int r, float v[4]) const
    {
        v[0] = v[1] = v[2] = v[3] = 0.0f;
        if (q >= rows) return;
        const int w = q % W, t0 = q / W, h = t0 % H, n = t0 / H;
        const float* img = dy + (long long)n * Ho * Wo * Cout + cBase;
        int ho, wo;
        if (vec && (r & 3) == 0 && r + 3 < RD)
        {
            const int co = r % Cog;
            if (!source(h, w, r / Cog, ho, wo)) return;
            const float4 t = __ldg(reinterpret_cast<const float4*>(img + ((long long)ho * Wo + wo) * Cout + co));
            v[0] = t.x; v[1] = t.y; v[2] = t.z; v[3] = t.w;
            return;
        }
#pragma unroll
        for (int t = 0; t < 4; t++)
        {
            const int rr = r + t;
            if (rr >= RD) break;
            if (source(h, w, rr / Cog, ho, wo)) v[t] = __ldg(img + ((long long)ho * Wo + wo) * Cout + rr % Cog);
        }
    }
};

/// The weights of group g as the data gradient's B, indexed (r = (kh·K + kw)·Cog + co, ci):
///   B(r, ci) = w[g·Cog + co, kh, kw, ci]; contiguous along ci.
struct ConvWeightsByTap
{
    static constexpr bool kAlongR = false;
    const float* wg; // w + g·Cog·K·K·Cig
    int K, Cog, Cig, RD;
    bool vec;

    __device__ __forceinline__ void quad(int ci, int r, float v[4]) const
    {
        v[0] = v[1] = v[2] = v[3] = 0.0f;
        if (r >= RD || ci >= Cig) return;
        const int co = r % Cog, kk = r / Cog;
        const float* p = wg + ((long long)co * K * K + kk) * Cig + ci;
        if (vec && ci + 3 < Cig)
        {
            const float4 t = __ldg(reinterpret_cast<const float4*>(p));
            v[0] = t.x; v[1] = t.y; v[2] = t.z; v[3] = t.w;
            return;
        }
#pragma unroll
        for (int t = 0; t < 4; t++)
            if (ci + t < Cig) v[t] = __ldg(p + t);
    }
};

#define CONV_GEOMETRY int N, int H, int W, int Cin, int Cout, int K, int S, int P, int groups

template <int TM, int TN>
__device__ __forceinline__ void conv2d_forward_impl(const float* __restrict__ x, const float* __restrict__ w,
                                                    float* __restrict__ y, CONV_GEOMETRY)
{
    const int Cig = Cin / groups, Cog = Cout / groups, R = K * K * Cig;
    const int Ho = (H + 2 * P - K) / S + 1, Wo = (W + 2 * P - K) / S + 1, pixels = N * Ho * Wo;
    const int g = blockIdx.z, i0 = blockIdx.x * (16 * TM), j0 = blockIdx.y * (16 * TN);
    ConvPatchesRowsAreOutput a; // A(p, r) = X(p, r)                                     x [N, H, W, Cin]
    a.m = ConvPatches{x, pixels, H, W, Cin, Ho, Wo, K, S, P, Cig, g * Cig, R,
                      Cig % 4 == 0 && Cin % 4 == 0 && igc_aligned16(x)};
    IgcRowsAreOutput b; // B(r, co) = w[g·Cog + co, r]                                    w [Cout, R]
    b.m.init(w + (long long)g * Cog * R, Cog, R, R, 0, 0, 0);
    float acc[TM][TN];
    igc_gemm_tile<TM, TN>(acc, a, b, i0, j0, 0, R);

    // y[p, g·Cog + co] = acc                                                            y [N·Ho·Wo, Cout]
    const int ty = threadIdx.x / 16, tx = threadIdx.x % 16, co = j0 + tx * TN;
    const bool vec = igc_aligned16(y) && Cout % 4 == 0 && (g * Cog) % 4 == 0;
#pragma unroll
    for (int u = 0; u < TM; u++)
    {
        const int p = i0 + ty * TM + u;
        if (p >= pixels) continue;
        float* row = y + (long long)p * Cout + g * Cog;
        if constexpr (TN == 4)
        {
            if (vec && co + 3 < Cog)
            {
                *reinterpret_cast<float4*>(row + co) = make_float4(acc[u][0], acc[u][1], acc[u][2], acc[u][3]);
                continue;
            }
        }
#pragma unroll
        for (int v = 0; v < TN; v++)
            if (co + v < Cog) row[co + v] = acc[u][v];
    }
}

template <int TM, int TN>
__device__ __forceinline__ void conv2d_backward_data_impl(const float* __restrict__ dy, const float* __restrict__ w,
                                                          float* __restrict__ dx, CONV_GEOMETRY)
{
    const int Cig = Cin / groups, Cog = Cout / groups, RD = K * K * Cog;
    const int Ho = (H + 2 * P - K) / S + 1, Wo = (W + 2 * P - K) / S + 1, pixels = N * H * W;
    const int g = blockIdx.z, i0 = blockIdx.x * (16 * TM), j0 = blockIdx.y * (16 * TN);
    ConvOutputGrads a; // A(q, r) = D(q, r)                                            dy [N, Ho, Wo, Cout]
    a.dy = dy; a.rows = pixels; a.H = H; a.W = W; a.Cout = Cout; a.Ho = Ho; a.Wo = Wo; a.K = K; a.S = S; a.P = P;
    a.Cog = Cog; a.cBase = g * Cog; a.RD = RD;
    a.vec = Cog % 4 == 0 && Cout % 4 == 0 && igc_aligned16(dy);
    ConvWeightsByTap b; // B(r, ci) = w[g·Cog + co, kh, kw, ci]                        w [Cout, K, K, Cig]
    b.wg = w + (long long)g * Cog * K * K * Cig; b.K = K; b.Cog = Cog; b.Cig = Cig; b.RD = RD;
    b.vec = Cig % 4 == 0 && igc_aligned16(b.wg);
    float acc[TM][TN];
    igc_gemm_tile<TM, TN>(acc, a, b, i0, j0, 0, RD);

    // dx[q, g·Cig + ci] += acc                                                          dx [N·H·W, Cin]
    const int ty = threadIdx.x / 16, tx = threadIdx.x % 16, ci = j0 + tx * TN;
    const bool vec = igc_aligned16(dx) && Cin % 4 == 0 && (g * Cig) % 4 == 0;
#pragma unroll
    for (int u = 0; u < TM; u++)
    {
        const int q = i0 + ty * TM + u;
        if (q >= pixels) continue;
        float* row = dx + (long long)q * Cin + g * Cig;
        if constexpr (TN == 4)
        {
            if (vec && ci + 3 < Cig)
            {
                float4 t = *reinterpret_cast<float4*>(row + ci);
                t.x += acc[u][0];
                t.y += acc[u][1];
                t.z += acc[u][2];
                t.w += acc[u][3];
                *reinterpret_cast<float4*>(row + ci) = t;
                continue;
            }
        }
#pragma unroll
        for (int v = 0; v < TN; v++)
            if (ci + v < Cig) row[ci + v] += acc[u][v];
    }
}

template <int TM, int TN>
__device__ __forceinline__ void conv2d_backward_weight_impl(const float* __restrict__ dy, const float* __restrict__ x,
                                                            float* __restrict__ partial, unsigned* __restrict__ counters,
                                                            float* __restrict__ dw, CONV_GEOMETRY, int splits,
                                                            int rowsPerSplit, int accumulate)
{
    const int Cig = Cin / groups, Cog = Cout / groups, R = K * K * Cig;
    const int Ho = (H + 2 * P - K) / S + 1, Wo = (W + 2 * P - K) / S + 1, pixels = N * Ho * Wo;
    const int g = blockIdx.z / splits, s = blockIdx.z % splits;
    const int i0 = blockIdx.x * (16 * TM), j0 = blockIdx.y * (16 * TN);
    const long long begin = (long long)s * rowsPerSplit;
    const int rBegin = (int)(begin < pixels ? begin : pixels);
    const int rEnd = (int)(begin + rowsPerSplit < pixels ? begin + rowsPerSplit : pixels);
    IgcRowsAreReduction a; // A(co, p) = dy[p, g·Cog + co]                              dy [N·Ho·Wo, Cout]
    a.m.init(dy, rEnd, Cog, Cout, g * Cog, 0, 0);
    ConvPatchesRowsAreReduction b; // B(p, r) = X(p, r), rows past this split read as zero
    b.m = ConvPatches{x, rEnd, H, W, Cin, Ho, Wo, K, S, P, Cig, g * Cig, R,
                      Cig % 4 == 0 && Cin % 4 == 0 && igc_aligned16(x)};
    float acc[TM][TN];
    igc_gemm_tile<TM, TN>(acc, a, b, i0, j0, rBegin, rEnd);

    // partial[s, g·Cog + co, r] = acc; the tile's last split sums them into dw.      partial [splits, Cout, R]
    const long long slice = (long long)Cout * R;
    igc_store_partial_tile<TM, TN>(acc, partial + s * slice, g * Cog, Cog, R, i0, j0);
    if (igc_last_block(igc_tile_counter(counters, splits), splits))
        igc_finish_partial_tile<TM, TN>(partial, slice, splits, dw, g * Cog, Cog, R, i0, j0, accumulate);
}

#define IGC_CONV_FORWARD(TN, BN)                                                                              \
    extern "C" __global__ void __launch_bounds__(IGC_THREADS) conv2d_forward_64x##BN(                         \
        const float* __restrict__ x, const float* __restrict__ w, float* __restrict__ y, CONV_GEOMETRY)       \
    {                                                                                                         \
        conv2d_forward_impl<4, TN>(x, w, y, N, H, W, Cin, Cout, K, S, P, groups);                             \
    }

#define IGC_CONV_BACKWARD_DATA(TN, BN)                                                                        \
    extern "C" __global__ void __launch_bounds__(IGC_THREADS) conv2d_backward_data_64x##BN(                   \
        const float* __restrict__ dy, const float* __restrict__ w, float* __restrict__ dx, CONV_GEOMETRY)     \
    {                                                                                                         \
        conv2d_backward_data_impl<4, TN>(dy, w, dx, N, H, W, Cin, Cout, K, S, P, groups);                     \
    }

#define IGC_CONV_BACKWARD_WEIGHT(TM, TN, BM, BN)                                                              \
    extern "C" __global__ void __launch_bounds__(IGC_THREADS) conv2d_backward_weight_##BM##x##BN(             \
        const float* __restrict__ dy, const float* __restrict__ x, float* __restrict__ partial,               \
        unsigned* __restrict__ counters, float* __restrict__ dw, CONV_GEOMETRY, int splits, int rowsPerSplit,  \
        int accumulate)                                                                                       \
    {                                                                                                         \
        conv2d_backward_weight_impl<TM, TN>(dy, x, partial, counters, dw, N, H, W, Cin, Cout, K, S, P, groups, \
                                            splits, rowsPerSplit, accumulate);                                \
    }

IGC_FOR_EACH_TILE(IGC_CONV_FORWARD)
IGC_FOR_EACH_TILE(IGC_CONV_BACKWARD_DATA)
IGC_FOR_EACH_TILE_PAIR(IGC_CONV_BACKWARD_WEIGHT)
