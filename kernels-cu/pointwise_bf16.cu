// pointwise_bf16.cu — the grouped 1x1 convolution of pointwise.cu on bf16 tensor cores: forward,
// data gradient and weight gradient. bf16 activations and activation gradients, fp32 weights rounded to bf16 for the operands, fp32 accumulation, and the IGC
// permutations fused into the operand loads and the epilogue stores exactly as in pointwise.cu.
//
// Op (the forward of pointwise.cu with bf16 storage):
//   y = P(Gout) · conv1x1_groups(P(Gin) · x)
//   x [M, Cin] bf16 (M = N·H·W rows of NHWC), w [Cout, Cin/groups] fp32, y [M, Cout] bf16 and/or fp32
//   With Kg = Cin/groups, Ng = Cout/groups, x'[m, c] = x[m, src_in(c)]:
//     z[m, g*Ng + n] = Σ_k bf16(w[g*Ng + n, k]) · x'[m, g*Kg + k]     (fp32 sum of exact products)
//     y[m, dst_out(g*Ng + n)] = bf16(z[...])  and/or  yf[m, dst_out(g*Ng + n)] = z[...]
// Data gradient, with dz[m, s] = dy[m, dst_out(s)] (dy bf16 [M, Cout]):
//     dx[m, src_in(g*Kg + k)] (+)= Σ_n dz[m, g*Ng + n] · bf16(w[g*Ng + n, k])   (dx bf16 and/or dxf fp32)
//   accumulate != 0: dx = bf16(float(dx) + sum), dxf = dxf + sum; accumulate == 0: overwrite.
// Weight gradient (fp32, the master weights' gradient), split over the rows like pointwise.cu's:
//     partial[s, g*Ng + n, k] = Σ_{m in split s} dz[m, g*Ng + n] · x'[m, g*Kg + k]
//   then the last split of each tile (igc_last_block, a counter per tile) adds the slices into dw in
//   slice order (dw += Σ_s; dw = Σ_s when accumulate == 0).
// Rounding points (the CPU reference, CpuBackend.PointwiseForwardBf16 and PointwiseBackwardDataBf16,
// rounds at the same): w once, to nearest even, when loaded; x and dy are bf16 already; the result
// once, at the store (after adding the old value when accumulating). The fp32 sum is taken 16
// terms at a time by the tensor core; its order is not IEEE-specified, so the reference sums in
// double and the comparison allows fp32 accumulation error.
// Preconditions (checked by the host): as pointwise.cu; bf16 pointers 2-byte aligned, fp32 4-byte.
//
// Why bf16 needs no loss scaling: bf16 keeps float32's 8-bit exponent, so every normal fp32
// magnitude (down to 1.2e-38) is a normal bf16 magnitude too, held to 8 significant bits instead
// of 24 (only fp32's subnormals below bf16's smallest, 9.2e-41, are lost). fp16's 5-bit exponent
// flushes anything below 6e-8 to zero, which is what loss scaling works around; bf16 gradients
// underflow only where fp32 ones would.
//
// ---- the tile -----------------------------------------------------------------------------------
// 256 threads = 8 warps; block tile 128 rows (M) x BN output columns (Ng forward, Kg for the data
// gradient, Kg for the weight gradient, whose 128 rows are Ng), BN = 16, 32 or 64 as tile() of
// pointwise.cu; each warp owns 16 rows and all BN
// columns: BN/8 mma.m16n8k16 per 16 of the reduction (igc_mma_bf16_m16n8k16 in igc_common.cuh gives
// the fragment layout). The reduction steps 32 at a time through shared memory, both operands stored
// reduction-contiguous (the .row and .col layouts of the instruction: A as rows of x' or dz; B as
// rows of w forward, w transposed as it is stored for the data gradient; for the weight gradient,
// whose reduction runs down the rows of dy and x, both stored transposed), 8 bf16 of padding per
// row so that the fragment reads of the 8 row groups fall in distinct banks. Global loads: 8 bf16
// (16 bytes) of x or dy and 8 floats of w at once where unpermuted and aligned, else guarded
// gathered scalars through the permutation. Every block rounds the weights of its columns itself
// (BN·K conversions, small beside its 128·BN·K products); no pipelining of the stages yet.
// Static shared memory: (128 + BN)·40·2 bytes <= 15 KB; dynamic 0.
//
// ---- kernels and launch contract (block = 256 threads, 1-D) -------------------------------------
//
// pointwise_bf16_forward_128x{16,32,64}(const unsigned short* x, const float* w, unsigned short* y,
//                                       float* yf, int M, int Cin, int Cout, int groups,
//                                       int inShuffle, int outShuffle)
//   y (bf16) and yf (fp32) are each optional (null: not written), not both null. OVERWRITES.
//   grid = (ceil(M / 128), ceil(Ng / BN), groups), BN = tile(Ng) from the kernel name.
//   Needs sm_80+ (bf16 mma); Kg = 0 writes zeros.
//
// pointwise_bf16_backward_data_128x{16,32,64}(const unsigned short* dy, const float* w,
//                                             unsigned short* dx, float* dxf, int M, int Cin,
//                                             int Cout, int groups, int inShuffle, int outShuffle,
//                                             int accumulate)
//   dx (bf16) and dxf (fp32) each optional, not both null; (+)= by `accumulate` as above.
//   grid = (ceil(M / 128), ceil(Kg / BN), groups), BN = tile(Kg). Needs sm_80+.
//
// pointwise_bf16_backward_weight_128x{16,32,64}(const unsigned short* dy, const unsigned short* x,
//                                               float* partial, unsigned* counters, float* dw, int M,
//                                               int Cin, int Cout, int groups, int inShuffle, int outShuffle,
//                                               int splits, int rowsPerSplit, int accumulate)
//   As pointwise_backward_weight_* (splits, rowsPerSplit, partial [splits, Cout, Kg] OVERWRITTEN,
//   each tile's last split summing it into dw, counters one per tile: gridDim.x·gridDim.y·groups,
//   0 before and after), with the tile 128 (Ng) x BN (Kg), BN = tile(Kg):
//   grid = (ceil(Ng / 128), ceil(Kg / BN), groups·splits), groups·splits <= 65535. Needs sm_80+.
#include "igc_common.cuh"

#define IGC_BF16_ROWS 128 // block tile along M: 8 warps x 16 rows
#define IGC_BF16_BK 32    // K per shared-memory stage: two k16 mma steps
#define IGC_BF16_PAD 8    // bf16 of padding per shared row (16 bytes: rows stay 16-byte aligned)

/// Eight consecutive-k operand values A(row, k .. k+7) of a row-major matrix slice with a gathered
/// column index, as bf16 packed in a uint4 (zero past `cols` or for rows >= `rows`):
///   A(row, c) = base[row·stride + map(colBase + c)], map = P(permG)'s source map when permG > 1.
/// `vec`: one 16-byte load is allowed (no gather, and base, stride, colBase multiples of 8).
__device__ __forceinline__ uint4 igc_bf16_row_octet(const unsigned short* __restrict__ base, int row, int k, int rows, int cols,
                                                    int stride, int colBase, int permC, int permG, bool vec)
{
    if (row >= rows) return make_uint4(0u, 0u, 0u, 0u);
    const unsigned short* p = base + (long long)row * stride;
    if (vec && k + 8 <= cols) return __ldg(reinterpret_cast<const uint4*>(p + colBase + k));
    unsigned short v[8];
#pragma unroll
    for (int t = 0; t < 8; t++) v[t] = k + t < cols ? __ldg(p + igc_perm_source(colBase + k + t, permC, permG)) : (unsigned short)0;
    return make_uint4(igc_bf16_pair(v[0], v[1]), igc_bf16_pair(v[2], v[3]), igc_bf16_pair(v[4], v[5]), igc_bf16_pair(v[6], v[7]));
}

/// w[row, k .. k+7] of a row-major fp32 matrix [rows, cols], rounded to bf16 and packed (zero
/// outside). `vec`: two 16-byte loads allowed (base and cols multiples of 4 floats).
__device__ __forceinline__ uint4 igc_bf16_weight_octet(const float* __restrict__ base, int row, int k, int rows, int cols, bool vec)
{
    if (row >= rows) return make_uint4(0u, 0u, 0u, 0u);
    const float* p = base + (long long)row * cols + k;
    float v[8];
    if (vec && k + 8 <= cols)
    {
        const float4 lo = __ldg(reinterpret_cast<const float4*>(p)), hi = __ldg(reinterpret_cast<const float4*>(p + 4));
        v[0] = lo.x; v[1] = lo.y; v[2] = lo.z; v[3] = lo.w; v[4] = hi.x; v[5] = hi.y; v[6] = hi.z; v[7] = hi.w;
    }
    else
    {
#pragma unroll
        for (int t = 0; t < 8; t++) v[t] = k + t < cols ? __ldg(p + t) : 0.0f;
    }
    return make_uint4(igc_bf16_pair(igc_bf16_from_float(v[0]), igc_bf16_from_float(v[1])),
                      igc_bf16_pair(igc_bf16_from_float(v[2]), igc_bf16_from_float(v[3])),
                      igc_bf16_pair(igc_bf16_from_float(v[4]), igc_bf16_from_float(v[5])),
                      igc_bf16_pair(igc_bf16_from_float(v[6]), igc_bf16_from_float(v[7])));
}

/// The 32-bit word holding S[row][k], S[row][k+1] (k even).
template <int W>
__device__ __forceinline__ unsigned igc_bf16_word(const unsigned short (*S)[W], int row, int k)
{
    return *reinterpret_cast<const unsigned*>(&S[row][k]);
}

/// Fills S[i][r] = M(i0 + i, r0 + r) for a stage, I rows of 32, where M's rows are the output index
/// and its columns the reduction (contiguous): M(i, r) = base[i·stride + map(colBase + r)], zero for
/// i >= rows or r >= cols (igc_bf16_row_octet). One 16-byte shared store per octet.
template <int I, int W>
__device__ __forceinline__ void igc_bf16_fill_along(unsigned short (*S)[W], const unsigned short* __restrict__ base, int i0, int r0,
                                                    int rows, int cols, int stride, int colBase, int permC, int permG, bool vec)
{
    for (int q = threadIdx.x; q < I * 4; q += IGC_THREADS)
    {
        const int i = q / 4, r = (q % 4) * 8;
        *reinterpret_cast<uint4*>(&S[i][r]) = igc_bf16_row_octet(base, i0 + i, r0 + r, rows, cols, stride, colBase, permC, permG, vec);
    }
}

/// Fills S[i][r] = M(r0 + r, i0 + i) for a stage, I rows of 32, where M's rows are the reduction
/// and its (contiguous) columns the output index: read as octets along i, stored transposed.
/// Rows r0 + r >= rows and columns >= cols read as zero.
template <int I, int W>
__device__ __forceinline__ void igc_bf16_fill_across(unsigned short (*S)[W], const unsigned short* __restrict__ base, int i0, int r0,
                                                     int rows, int cols, int stride, int colBase, int permC, int permG, bool vec)
{
    for (int q = threadIdx.x; q < IGC_BF16_BK * (I / 8); q += IGC_THREADS)
    {
        const int r = q / (I / 8), i = (q % (I / 8)) * 8;
        const uint4 o = igc_bf16_row_octet(base, r0 + r, i0 + i, rows, cols, stride, colBase, permC, permG, vec);
        const unsigned words[4] = {o.x, o.y, o.z, o.w};
#pragma unroll
        for (int t = 0; t < 4; t++)
        {
            S[i + 2 * t][r] = (unsigned short)(words[t] & 0xffffu);
            S[i + 2 * t + 1][r] = (unsigned short)(words[t] >> 16);
        }
    }
}

/// One block's 128 x BN output tile of C(i, j) = Σ_r A(i, r)·B(r, j) over r in [0, R), on bf16
/// tensor cores, with fp32 accumulators in the mma's C fragment layout (igc_mma_bf16_m16n8k16):
/// warp w holds rows 16w + (gq, gq + 8) of the tile and, in acc[j], columns 8j + 2tq, 8j + 2tq + 1.
/// For each stage of 32 reductions from r0, fillA(As, r0) stores As[i][r] = A(i, r0 + r) (128
/// rows) and fillB(Bs, r0) stores Bs[j][r] = B(r0 + r, j) (BN columns), bf16, zero outside.
template <int NT, class FillA, class FillB>
__device__ __forceinline__ void igc_bf16_mma_tile(float (&acc)[NT][4], int R, FillA fillA, FillB fillB)
{
    constexpr int BN = 8 * NT, LD = IGC_BF16_BK + IGC_BF16_PAD;
    __shared__ __align__(16) unsigned short As[IGC_BF16_ROWS][LD]; // As[i][r] = A(i0 + i, r0 + r)
    __shared__ __align__(16) unsigned short Bs[BN][LD];            // Bs[j][r] = B(r0 + r, j0 + j)
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, gq = lane / 4, tq = lane % 4;
    const int w0 = warp * 16; // this warp's 16 rows of the block tile
#pragma unroll
    for (int j = 0; j < NT; j++) acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.0f;

    for (int r0 = 0; r0 < R; r0 += IGC_BF16_BK)
    {
        fillA(As, r0);
        fillB(Bs, r0);
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < IGC_BF16_BK; kk += 16)
        {
            const unsigned af[4] = {igc_bf16_word(As, w0 + gq, kk + 2 * tq), igc_bf16_word(As, w0 + gq + 8, kk + 2 * tq),
                                    igc_bf16_word(As, w0 + gq, kk + 2 * tq + 8), igc_bf16_word(As, w0 + gq + 8, kk + 2 * tq + 8)};
#pragma unroll
            for (int j = 0; j < NT; j++)
            {
                const unsigned bf[2] = {igc_bf16_word(Bs, j * 8 + gq, kk + 2 * tq), igc_bf16_word(Bs, j * 8 + gq, kk + 2 * tq + 8)};
                igc_mma_bf16_m16n8k16(acc[j], af, bf);
            }
        }
        __syncthreads();
    }
}

/// Writes the tile of igc_bf16_mma_tile: element (i0 + i, j0 + j), for rows < M and j0 + j < N,
/// goes to channel map(colBase + j0 + j) of row i0 + i of out [M, C]: out = bf16(v) and/or
/// outf = v, or, when `accumulate`, old + v (for bf16: the old bf16 widened, the sum rounded once).
/// Where map is the identity (G <= 1) and the pair is aligned: one 4-byte or 8-byte access.
template <int NT, class Map>
__device__ __forceinline__ void igc_bf16_store_tile(const float (&acc)[NT][4], unsigned short* __restrict__ out, float* __restrict__ outf,
                                                    int M, int C, int colBase, int N, bool identity, int i0, int j0, int accumulate, Map map)
{
    const int lane = threadIdx.x % 32, gq = lane / 4, tq = lane % 4, w0 = (threadIdx.x / 32) * 16;
    const bool pairs = identity && C % 2 == 0 && colBase % 2 == 0 && (reinterpret_cast<unsigned long long>(out) & 3ull) == 0ull &&
                       (reinterpret_cast<unsigned long long>(outf) & 7ull) == 0ull;
#pragma unroll
    for (int j = 0; j < NT; j++)
    {
        const int n = j0 + j * 8 + 2 * tq;
#pragma unroll
        for (int h = 0; h < 2; h++)
        {
            const int m = i0 + w0 + gq + 8 * h;
            if (m >= M || n >= N) continue;
            float v0 = acc[j][2 * h], v1 = acc[j][2 * h + 1];
            const long long row = (long long)m * C;
            if (pairs && n + 1 < N)
            {
                if (out)
                {
                    unsigned* p = reinterpret_cast<unsigned*>(out + row + colBase + n);
                    float s0 = v0, s1 = v1;
                    if (accumulate)
                    {
                        const unsigned old = *p;
                        s0 += igc_float_from_bf16((unsigned short)(old & 0xffffu));
                        s1 += igc_float_from_bf16((unsigned short)(old >> 16));
                    }
                    *p = igc_bf16_pair(igc_bf16_from_float(s0), igc_bf16_from_float(s1));
                }
                if (outf)
                {
                    float2* p = reinterpret_cast<float2*>(outf + row + colBase + n);
                    if (accumulate)
                    {
                        const float2 old = *p;
                        *p = make_float2(old.x + v0, old.y + v1);
                    }
                    else *p = make_float2(v0, v1);
                }
                continue;
            }
#pragma unroll
            for (int v = 0; v < 2; v++)
            {
                if (n + v >= N) continue;
                const long long at = row + map(colBase + n + v);
                const float z = v == 0 ? v0 : v1;
                if (out) out[at] = igc_bf16_from_float(accumulate ? igc_float_from_bf16(out[at]) + z : z);
                if (outf) outf[at] = accumulate ? outf[at] + z : z;
            }
        }
    }
}

template <int NT>
__device__ __forceinline__ void pointwise_bf16_forward_impl(const unsigned short* __restrict__ x, const float* __restrict__ w,
                                                            unsigned short* __restrict__ y, float* __restrict__ yf, int M,
                                                            int Cin, int Cout, int groups, int inShuffle, int outShuffle)
{
    constexpr int BN = 8 * NT, LD = IGC_BF16_BK + IGC_BF16_PAD;
    const int Kg = Cin / groups, Ng = Cout / groups, g = blockIdx.z;
    const int i0 = blockIdx.x * IGC_BF16_ROWS, j0 = blockIdx.y * BN;
    // A(m, k) = x'[m, g*Kg + k] = x[m, src_in(g*Kg + k)]                                   x [M, Cin]
    const bool vecA = inShuffle <= 1 && igc_aligned16(x) && Cin % 8 == 0 && (g * Kg) % 8 == 0;
    // B(k, n) = bf16(w[g*Ng + n, k]): w's rows are B's columns, k-contiguous as Bs wants.   w [Cout, Kg]
    const float* wg = w + (long long)g * Ng * Kg;
    const bool vecB = igc_aligned16(wg) && Kg % 4 == 0;
    float acc[NT][4];
    auto fillA = [&](unsigned short (*As)[LD], int k0) { igc_bf16_fill_along<IGC_BF16_ROWS>(As, x, i0, k0, M, Kg, Cin, g * Kg, Cin, inShuffle, vecA); };
    igc_bf16_mma_tile<NT>(acc, Kg, fillA, [&](unsigned short (*Bs)[LD], int k0) {
        for (int q = threadIdx.x; q < BN * 4; q += IGC_THREADS)
        {
            const int j = q / 4, r = (q % 4) * 8; // the one rounding of w, as it is loaded
            *reinterpret_cast<uint4*>(&Bs[j][r]) = igc_bf16_weight_octet(wg, j0 + j, k0 + r, Ng, Kg, vecB);
        }
    });
    // y[m, dst_out(g*Ng + n)] = z[m, g*Ng + n]                                              y [M, Cout]
    igc_bf16_store_tile<NT>(acc, y, yf, M, Cout, g * Ng, Ng, outShuffle <= 1, i0, j0, 0,
                            [&](int s) { return igc_perm_destination(s, Cout, outShuffle); });
}

template <int NT>
__device__ __forceinline__ void pointwise_bf16_backward_data_impl(const unsigned short* __restrict__ dy, const float* __restrict__ w,
                                                                  unsigned short* __restrict__ dx, float* __restrict__ dxf, int M,
                                                                  int Cin, int Cout, int groups, int inShuffle, int outShuffle,
                                                                  int accumulate)
{
    constexpr int BN = 8 * NT, LD = IGC_BF16_BK + IGC_BF16_PAD;
    const int Kg = Cin / groups, Ng = Cout / groups, g = blockIdx.z;
    const int i0 = blockIdx.x * IGC_BF16_ROWS, j0 = blockIdx.y * BN;
    // A(m, n) = dz[m, g*Ng + n] = dy[m, dst_out(g*Ng + n)]: P(Gout)⁻¹'s source map.         dy [M, Cout]
    const int invOut = igc_inverse_groups(Cout, outShuffle);
    const bool vecA = invOut <= 1 && igc_aligned16(dy) && Cout % 8 == 0 && (g * Ng) % 8 == 0;
    // B(n, k) = bf16(w[g*Ng + n, k]): the reduction runs down w's rows, so the stage is
    // transposed into Bs[k][n] as it is stored (8 consecutive k of one row n per thread).    w [Cout, Kg]
    const float* wg = w + (long long)g * Ng * Kg;
    const bool vecB = igc_aligned16(wg) && Kg % 4 == 0;
    float acc[NT][4];
    auto fillA = [&](unsigned short (*As)[LD], int n0) { igc_bf16_fill_along<IGC_BF16_ROWS>(As, dy, i0, n0, M, Ng, Cout, g * Ng, Cout, invOut, vecA); };
    igc_bf16_mma_tile<NT>(acc, Ng, fillA, [&](unsigned short (*Bs)[LD], int n0) {
        for (int q = threadIdx.x; q < IGC_BF16_BK * (BN / 8); q += IGC_THREADS)
        {
            const int r = q / (BN / 8), j = (q % (BN / 8)) * 8;
            const uint4 o = igc_bf16_weight_octet(wg, n0 + r, j0 + j, Ng, Kg, vecB);
            const unsigned words[4] = {o.x, o.y, o.z, o.w};
#pragma unroll
            for (int t = 0; t < 4; t++)
            {
                Bs[j + 2 * t][r] = (unsigned short)(words[t] & 0xffffu);
                Bs[j + 2 * t + 1][r] = (unsigned short)(words[t] >> 16);
            }
        }
    });
    // dx[m, src_in(g*Kg + k)] (+)= dx'[m, g*Kg + k]                                         dx [M, Cin]
    igc_bf16_store_tile<NT>(acc, dx, dxf, M, Cin, g * Kg, Kg, inShuffle <= 1, i0, j0, accumulate,
                            [&](int c) { return igc_perm_source(c, Cin, inShuffle); });
}

template <int NT>
__device__ __forceinline__ void pointwise_bf16_backward_weight_impl(const unsigned short* __restrict__ dy, const unsigned short* __restrict__ x,
                                                                    float* __restrict__ partial, unsigned* __restrict__ counters,
                                                                    float* __restrict__ dw, int M, int Cin, int Cout, int groups,
                                                                    int inShuffle, int outShuffle, int splits, int rowsPerSplit,
                                                                    int accumulate)
{
    constexpr int BN = 8 * NT, LD = IGC_BF16_BK + IGC_BF16_PAD;
    const int Kg = Cin / groups, Ng = Cout / groups;
    const int g = blockIdx.z / splits, s = blockIdx.z % splits;
    const int i0 = blockIdx.x * IGC_BF16_ROWS, j0 = blockIdx.y * BN;
    const long long begin = (long long)s * rowsPerSplit;
    const int rBegin = (int)(begin < M ? begin : M);
    const int rEnd = (int)(begin + rowsPerSplit < M ? begin + rowsPerSplit : M);
    // Both operands have the reduction (the rows m) down their rows: each stage is read along its
    // channels and stored transposed. Rows past this split's end read as zero, so any rowsPerSplit is exact.
    // A(n, m) = dz[m, g*Ng + n] = dy[m, dst_out(g*Ng + n)]                                  dy [M, Cout]
    const int invOut = igc_inverse_groups(Cout, outShuffle);
    const bool vecA = invOut <= 1 && igc_aligned16(dy) && Cout % 8 == 0 && (g * Ng) % 8 == 0;
    // B(m, k) = x'[m, g*Kg + k] = x[m, src_in(g*Kg + k)]                                     x [M, Cin]
    const bool vecB = inShuffle <= 1 && igc_aligned16(x) && Cin % 8 == 0 && (g * Kg) % 8 == 0;
    float acc[NT][4];
    igc_bf16_mma_tile<NT>(
        acc, rEnd - rBegin,
        [&](unsigned short (*As)[LD], int r0) { igc_bf16_fill_across<IGC_BF16_ROWS>(As, dy, i0, rBegin + r0, rEnd, Ng, Cout, g * Ng, Cout, invOut, vecA); },
        [&](unsigned short (*Bs)[LD], int r0) { igc_bf16_fill_across<BN>(Bs, x, j0, rBegin + r0, rEnd, Kg, Cin, g * Kg, Cin, inShuffle, vecB); });
    // partial[s, g*Ng + n, k] = acc (overwrite); the tile's last split sums them into dw.   partial [splits, Cout, Kg]
    igc_bf16_store_tile<NT>(acc, (unsigned short*)nullptr, partial + ((long long)s * Cout + (long long)g * Ng) * Kg, Ng, Kg, 0, Kg, true,
                            i0, j0, 0, [](int c) { return c; });
    if (igc_last_block(igc_tile_counter(counters, splits), splits))
        igc_finish_partial_rect(partial, (long long)Cout * Kg, splits, dw, g * Ng, Ng, Kg, i0, j0, IGC_BF16_ROWS, BN, accumulate);
}

#define IGC_PW_BF16_FORWARD(TN, BN)                                                                               \
    extern "C" __global__ void __launch_bounds__(IGC_THREADS) pointwise_bf16_forward_128x##BN(                  \
        const unsigned short* __restrict__ x, const float* __restrict__ w, unsigned short* __restrict__ y,        \
        float* __restrict__ yf, int M, int Cin, int Cout, int groups, int inShuffle, int outShuffle)              \
    {                                                                                                            \
        pointwise_bf16_forward_impl<BN / 8>(x, w, y, yf, M, Cin, Cout, groups, inShuffle, outShuffle);           \
    }

#define IGC_PW_BF16_BACKWARD_DATA(TN, BN)                                                                         \
    extern "C" __global__ void __launch_bounds__(IGC_THREADS) pointwise_bf16_backward_data_128x##BN(            \
        const unsigned short* __restrict__ dy, const float* __restrict__ w, unsigned short* __restrict__ dx,      \
        float* __restrict__ dxf, int M, int Cin, int Cout, int groups, int inShuffle, int outShuffle,             \
        int accumulate)                                                                                          \
    {                                                                                                            \
        pointwise_bf16_backward_data_impl<BN / 8>(dy, w, dx, dxf, M, Cin, Cout, groups, inShuffle, outShuffle,   \
                                                  accumulate);                                                   \
    }

#define IGC_PW_BF16_BACKWARD_WEIGHT(TN, BN)                                                                       \
    extern "C" __global__ void __launch_bounds__(IGC_THREADS) pointwise_bf16_backward_weight_128x##BN(          \
        const unsigned short* __restrict__ dy, const unsigned short* __restrict__ x, float* __restrict__ partial, \
        unsigned* __restrict__ counters, float* __restrict__ dw, int M, int Cin, int Cout, int groups,            \
        int inShuffle, int outShuffle, int splits, int rowsPerSplit, int accumulate)                              \
    {                                                                                                            \
        pointwise_bf16_backward_weight_impl<BN / 8>(dy, x, partial, counters, dw, M, Cin, Cout, groups, inShuffle, \
                                                    outShuffle, splits, rowsPerSplit, accumulate);                \
    }

IGC_FOR_EACH_TILE(IGC_PW_BF16_FORWARD)
IGC_FOR_EACH_TILE(IGC_PW_BF16_BACKWARD_DATA)
IGC_FOR_EACH_TILE(IGC_PW_BF16_BACKWARD_WEIGHT)
