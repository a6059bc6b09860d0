// Checks every kernel of kernels-cu against plain loops in double, under the host emulation of
// cuda_emu.h. Build and run with run.sh beside this file.
#include "cuda_emu.h"
#include <cstdio>
#include <random>
#include <string>
#include <functional>
#include <sanitizer/asan_interface.h> // ASAN_POISON_MEMORY_REGION: nothing without -fsanitize=address

#include "elementwise.cu"
#include "pointwise.cu"
#include "pointwise_bf16.cu"
#include "depthwise.cu"
#include "batchnorm.cu"
#include "conv2d.cu"
#include "pooling.cu"
#include "loss.cu"
#include "sgd.cu"
#include "linear.cu"
#include "syncbn.cu"

static std::mt19937 rng(1234);
static int failures = 0, checks = 0;

static void fail(const std::string& what)
{
    failures++;
    printf("FAIL %s\n", what.c_str());
}

// A kernel argument: n floats at p, 16-byte aligned plus off elements (the float4 and scalar
// paths). Under AddressSanitizer the slack around them is poisoned, so a kernel that reads or
// writes outside [p, p + n) is reported there.
struct Buf {
    std::vector<float> store; float* p; int n;
    Buf(int count, int off = 0) : store(count + 16), n(count) {
        float* base = store.data(); while (((uintptr_t)base & 15) != 0) base++; p = base + off;
        ASAN_POISON_MEMORY_REGION(store.data(), (char*)p - (char*)store.data());
        ASAN_POISON_MEMORY_REGION(p + n, (char*)(store.data() + store.size()) - (char*)(p + n)); }
    ~Buf() { ASAN_UNPOISON_MEMORY_REGION(store.data(), store.size() * sizeof(float)); }
    Buf(const Buf&) = delete;
    Buf& operator=(const Buf&) = delete;
    void rand(float lo = -1, float hi = 1) { std::uniform_real_distribution<float> d(lo, hi); for (int i = 0; i < n; i++) p[i] = d(rng); }
    void fill(float v) { for (int i = 0; i < n; i++) p[i] = v; }
    std::vector<double> d() const { return std::vector<double>(p, p + n); }
    float& operator[](int i) { return p[i]; }
};
static void check(const std::string& name, const float* got, const std::vector<double>& want, double tol = 2e-5)
{
    checks++;
    double worst = 0; int at = -1;
    for (size_t i = 0; i < want.size(); i++) {
        double e = std::fabs(got[i] - want[i]) / std::max(1.0, std::fabs(want[i]));
        if (!(e <= worst)) { worst = e; at = (int)i; }
    }
    if (!(worst <= tol)) { failures++; printf("FAIL %s: max rel err %.3g at %d (got %.7g want %.7g)\n", name.c_str(), worst, at, got[at], want[at]); }
}
static unsigned cdiv(long long a, long long b) { return (unsigned)((a + b - 1) / b); }

// Last-block ticket counters (igc_last_block): zeroed before a launch; the launch must leave every
// one of them at 0 again, or the next launch sharing them would finish in the wrong block.
struct Tickets {
    std::vector<unsigned> c;
    explicit Tickets(int n) : c(n, 0u) {}
    unsigned* p() { return c.data(); }
    void expect_zero(const std::string& tag) {
        for (size_t i = 0; i < c.size(); i++)
            if (c[i] != 0) { fail(tag + " left ticket counter " + std::to_string(i) + " at " + std::to_string(c[i])); return; }
    }
};
static int tile(int d) { return d <= 16 ? 16 : d <= 32 ? 32 : 64; }
static int psrc(int d, int C, int G) { return G <= 1 ? d : (d % G) * (C / G) + d / G; }

// The batch statistics a forward accumulates in its epilogue (IgcBatchStats): random running
// statistics in; the references of y's mean, 1/sqrt(var + eps) and the updated running statistics.
struct StatsCase {
    static constexpr float mom = 0.1f, eps = 1e-5f;
    Buf rm, rv, sm, si;
    std::vector<double> rmref, rvref, smref, siref;
    StatsCase(const std::vector<double>& y, int M, int C) : rm(C), rv(C), sm(C), si(C), rmref(C), rvref(C), smref(C), siref(C) {
        rm.rand(); rv.rand(0.5, 2); sm.fill(4242); si.fill(4242);
        for (int c = 0; c < C; c++) {
            double mu = 0, ss = 0;
            for (int m = 0; m < M; m++) mu += y[(size_t)m * C + c];
            mu /= M;
            for (int m = 0; m < M; m++) ss += (y[(size_t)m * C + c] - mu) * (y[(size_t)m * C + c] - mu);
            smref[c] = mu; siref[c] = 1 / std::sqrt(ss / M + eps);
            rmref[c] = (1 - mom) * rm[c] + mom * mu; rvref[c] = (1 - mom) * rv[c] + mom * ss / (M - 1); }
    }
    void expect(const std::string& name) {
        check(name + " mean", sm.p, smref, 1e-5);
        check(name + " invstd", si.p, siref, 1e-4);
        check(name + " running mean", rm.p, rmref, 1e-5);
        check(name + " running var", rv.p, rvref, 1e-4);
    }
};

// ---------------------------------------------------------------- pointwise
using PwFwd = void (*)(const float*, const float*, float*, int, int, int, int, int, int, double*, unsigned*, float*, float*, float*, float*, float, float);
using PwBwd = void (*)(const float*, const float*, float*, int, int, int, int, int, int, int); // + accumulate
using PwBw = void (*)(const float*, const float*, float*, unsigned*, float*, int, int, int, int, int, int, int, int, int);
static void test_pointwise(int M, int Cin, int Cout, int groups, int gin, int gout, int off)
{
    char tag[128]; snprintf(tag, sizeof tag, "pw M%d %d->%d g%d in%d out%d off%d", M, Cin, Cout, groups, gin, gout, off);
    int Kg = Cin / groups, Ng = Cout / groups;
    Buf x(M * Cin, off), w(Cout * Kg, off), y(M * Cout, off), dy(M * Cout, off), dx(M * Cin, off), dw(Cout * Kg, off);
    x.rand(); w.rand(); dy.rand();
    // reference: x'[m,c] = x[m, src_in(c)]; z[m,s]; y[m, d] = z[m, src_out(d)]
    std::vector<double> z((size_t)M * Cout), yref((size_t)M * Cout), dxref((size_t)M * Cin), dwref((size_t)Cout * Kg);
    for (int m = 0; m < M; m++) for (int s = 0; s < Cout; s++) {
        int g = s / Ng; double a = 0;
        for (int k = 0; k < Kg; k++) a += (double)w[s * Kg + k] * x[m * Cin + psrc(g * Kg + k, Cin, gin)];
        z[(size_t)m * Cout + s] = a; }
    for (int m = 0; m < M; m++) for (int d = 0; d < Cout; d++) yref[(size_t)m * Cout + d] = z[(size_t)m * Cout + psrc(d, Cout, gout)];
    // dz[m, s] = dy[m, d] where src_out(d) = s
    std::vector<double> dz((size_t)M * Cout);
    for (int m = 0; m < M; m++) for (int d = 0; d < Cout; d++) dz[(size_t)m * Cout + psrc(d, Cout, gout)] = dy[m * Cout + d];
    Buf dx0(M * Cin, off), dw0(Cout * Kg, off); dx0.rand(); dw0.rand();
    for (int i = 0; i < M * Cin; i++) dxref[i] = dx0[i];
    for (int i = 0; i < Cout * Kg; i++) dwref[i] = dw0[i];
    for (int m = 0; m < M; m++) for (int s = 0; s < Cout; s++) {
        int g = s / Ng;
        for (int k = 0; k < Kg; k++) {
            int c = psrc(g * Kg + k, Cin, gin);
            dxref[(size_t)m * Cin + c] += dz[(size_t)m * Cout + s] * w[s * Kg + k];
            dwref[(size_t)s * Kg + k] += dz[(size_t)m * Cout + s] * x[m * Cin + c];
        } }
    PwFwd fwd[3] = {pointwise_forward_64x16, pointwise_forward_64x32, pointwise_forward_64x64};
    PwBwd bwd[3] = {pointwise_backward_data_64x16, pointwise_backward_data_64x32, pointwise_backward_data_64x64};
    int bns[3] = {16, 32, 64};
    for (int v = 0; v < 3; v++) {
        y.fill(12345);
        launch(fwd[v], dim3{cdiv(M, 64), cdiv(Ng, bns[v]), (unsigned)groups}, 256, (const float*)x.p, (const float*)w.p, y.p, M, Cin, Cout, groups, gin, gout,
               (double*)nullptr, (unsigned*)nullptr, (float*)nullptr, (float*)nullptr, (float*)nullptr, (float*)nullptr, 0.0f, 0.0f);
        check(std::string(tag) + " fwd" + std::to_string(bns[v]), y.p, yref);
        // With the batch statistics of y in the epilogue, over 1, 2 and every row block.
        if (M >= 2) for (unsigned rowBlocks : {1u, 2u, cdiv(M, 64)}) {
            if (rowBlocks > cdiv(M, 64)) continue;
            std::string name = std::string(tag) + " fwd" + std::to_string(bns[v]) + "+stats rb" + std::to_string(rowBlocks);
            StatsCase st(yref, M, Cout);
            Buf partial(rowBlocks * 2 * Cout * 2);
            Tickets tickets(cdiv(Ng, bns[v]) * groups);
            y.fill(12345);
            launch(fwd[v], dim3{rowBlocks, cdiv(Ng, bns[v]), (unsigned)groups}, 256, (const float*)x.p, (const float*)w.p, y.p, M, Cin, Cout, groups, gin, gout,
                   reinterpret_cast<double*>(partial.p), tickets.p(), st.rm.p, st.rv.p, st.sm.p, st.si.p, StatsCase::mom, StatsCase::eps);
            check(name, y.p, yref);
            st.expect(name);
            tickets.expect_zero(name);
        }
        for (int i = 0; i < M * Cin; i++) dx[i] = dx0[i];
        launch(bwd[v], dim3{cdiv(M, 64), cdiv(Kg, bns[v]), (unsigned)groups}, 256, (const float*)dy.p, (const float*)w.p, dx.p, M, Cin, Cout, groups, gin, gout, 1);
        check(std::string(tag) + " bwd-data" + std::to_string(bns[v]), dx.p, dxref);
    }
    PwBw bww[9] = {pointwise_backward_weight_16x16, pointwise_backward_weight_16x32, pointwise_backward_weight_16x64,
                   pointwise_backward_weight_32x16, pointwise_backward_weight_32x32, pointwise_backward_weight_32x64,
                   pointwise_backward_weight_64x16, pointwise_backward_weight_64x32, pointwise_backward_weight_64x64};
    for (int v = 0; v < 9; v++) {
        int BM = bns[v / 3], BN = bns[v % 3];
        for (int rps : {M, 16, 23}) {
            int splits = cdiv(M, rps);
            Buf partial(splits * Cout * Kg); partial.fill(777);
            std::string name = std::string(tag) + " bwd-w" + std::to_string(BM) + "x" + std::to_string(BN) + " rps" + std::to_string(rps);
            Tickets tickets(cdiv(Ng, BM) * cdiv(Kg, BN) * groups);
            for (int i = 0; i < Cout * Kg; i++) dw[i] = dw0[i];
            launch(bww[v], dim3{cdiv(Ng, BM), cdiv(Kg, BN), (unsigned)(groups * splits)}, 256, (const float*)dy.p, (const float*)x.p, partial.p, tickets.p(), dw.p, M, Cin, Cout, groups, gin, gout, splits, rps, 1);
            check(name, dw.p, dwref, 5e-5);
            tickets.expect_zero(name);
            // accumulate == 0 overwrites: dw = Σ alone, whatever it held.
            dw.fill(12345);
            launch(bww[v], dim3{cdiv(Ng, BM), cdiv(Kg, BN), (unsigned)(groups * splits)}, 256, (const float*)dy.p, (const float*)x.p, partial.p, tickets.p(), dw.p, M, Cin, Cout, groups, gin, gout, splits, rps, 0);
            std::vector<double> sum(dwref.size()); for (size_t i = 0; i < sum.size(); i++) sum[i] = dwref[i] - dw0[i];
            check(name + " overwrite", dw.p, sum, 5e-5);
        }
    }
}
// ---------------------------------------------------------------- bf16 tensor cores
// One warp's mma.m16n8k16 (igc_mma_bf16_m16n8k16), its fragments built from row-major A [16,16],
// B [16,8], C [16,8] by the PTX ISA layout written beside the device version in igc_common.cuh.
static void mma_check_kernel(const float* A, const float* B, const float* C, float* D, int lanes)
{
    const int lane = (int)threadIdx.x % 32, g = lane / 4, t = lane % 4;
    if (lane >= lanes) return; // the divergence check: lanes >= `lanes` never reach the mma
    D += threadIdx.x / 32 * 128; // each warp its own product
    auto two = [](float lo, float hi) { return igc_bf16_pair(igc_bf16_from_float(lo), igc_bf16_from_float(hi)); };
    const unsigned a[4] = {two(A[g * 16 + 2 * t], A[g * 16 + 2 * t + 1]), two(A[(g + 8) * 16 + 2 * t], A[(g + 8) * 16 + 2 * t + 1]),
                           two(A[g * 16 + 2 * t + 8], A[g * 16 + 2 * t + 9]), two(A[(g + 8) * 16 + 2 * t + 8], A[(g + 8) * 16 + 2 * t + 9])};
    const unsigned b[2] = {two(B[(2 * t) * 8 + g], B[(2 * t + 1) * 8 + g]), two(B[(2 * t + 8) * 8 + g], B[(2 * t + 9) * 8 + g])};
    float d[4] = {C[g * 8 + 2 * t], C[g * 8 + 2 * t + 1], C[(g + 8) * 8 + 2 * t], C[(g + 8) * 8 + 2 * t + 1]};
    igc_mma_bf16_m16n8k16(d, a, b);
    D[g * 8 + 2 * t] = d[0]; D[g * 8 + 2 * t + 1] = d[1]; D[(g + 8) * 8 + 2 * t] = d[2]; D[(g + 8) * 8 + 2 * t + 1] = d[3];
}
static void test_mma()
{
    // Small integers: every bf16 exact, every product and sum exact in fp32, so D = C + A·B bit for bit.
    Buf A(256), B(128), C(128), D(128);
    std::uniform_int_distribution<int> small(-8, 8);
    for (int i = 0; i < 256; i++) A[i] = (float)small(rng);
    for (int i = 0; i < 128; i++) { B[i] = (float)small(rng); C[i] = (float)(small(rng) * 100); }
    std::vector<double> want(128);
    for (int i = 0; i < 16; i++) for (int j = 0; j < 8; j++) {
        double s = C[i * 8 + j]; for (int k = 0; k < 16; k++) s += (double)A[i * 16 + k] * B[k * 8 + j];
        want[i * 8 + j] = s; }
    D.fill(12345);
    launch(mma_check_kernel, dim3{1, 1, 1}, 32, (const float*)A.p, (const float*)B.p, (const float*)C.p, D.p, 32);
    check("mma m16n8k16 bf16 one warp", D.p, want, 0);
    // Two warps of one block, each its own product of the same operands: per-warp, not per-block.
    Buf D2(256); D2.fill(12345);
    launch(mma_check_kernel, dim3{1, 1, 1}, 64, (const float*)A.p, (const float*)B.p, (const float*)C.p, D2.p, 32);
    check("mma m16n8k16 bf16 warp 0 of 2", D2.p, want, 0);
    check("mma m16n8k16 bf16 warp 1 of 2", D2.p + 128, want, 0);
    // A warp that does not reach it together, and a block of less than a warp, fail the launch.
    // (Not under ThreadSanitizer: a failed launch's fibers never finish, so it would see no edge
    // from their last reads of the launch to its destruction.)
#ifndef IGC_EMU_TSAN
    for (auto [threads, lanes] : {std::pair{32, 16}, std::pair{16, 32}}) {
        checks++;
        printf("(expected: the next launch fails, %d of 32 lanes at an mma)\n", std::min(threads, lanes));
        int before = igc_emu::launch_failures;
        launch(mma_check_kernel, dim3{1, 1, 1}, (unsigned)threads, (const float*)A.p, (const float*)B.p, (const float*)C.p, D.p, lanes);
        if (igc_emu::launch_failures != before + 1) fail("mma with " + std::to_string(std::min(threads, lanes)) + " of 32 lanes did not fail its launch");
        igc_emu::launch_failures = before;
    }
#endif
}

// bf16 round to nearest even on the host, written from the definition (not igc_bf16_from_float):
// the nearest bf16 by comparing distances to the two neighbours, the even one on a tie.
static float bf16_reference(float v)
{
    if (std::isnan(v) || std::isinf(v)) return v;
    unsigned u; memcpy(&u, &v, 4);
    unsigned down = u & 0xffff0000u, up = down + 0x10000u;
    float lo, hi; memcpy(&lo, &down, 4); memcpy(&hi, &up, 4);
    if ((up & 0x7f800000u) == 0x7f800000u) { // hi is ±inf: overflow from half an ulp past the largest finite bf16
        double mid = std::ldexp(2.0 - 1.0 / 256, 127);
        return std::fabs((double)v) < mid ? lo : hi;
    }
    double dl = std::fabs((double)v - lo), dh = std::fabs((double)v - hi);
    if (dl < dh) return lo;
    if (dh < dl) return hi;
    return ((down >> 16) & 1u) == 0 ? lo : hi;
}

using PwBf16 = void (*)(const unsigned short*, const float*, unsigned short*, float*, int, int, int, int, int, int);
using PwBf16Bwd = void (*)(const unsigned short*, const float*, unsigned short*, float*, int, int, int, int, int, int, int);
static unsigned short bf16_bits(float v) { float r = bf16_reference(v); unsigned u; memcpy(&u, &r, 4); return (unsigned short)(u >> 16); }
static float bf16_value(unsigned short h) { unsigned u = (unsigned)h << 16; float f; memcpy(&f, &u, 4); return f; }
static void test_pointwise_bf16(int M, int Cin, int Cout, int groups, int gin, int gout, int off)
{
    char tag[128]; snprintf(tag, sizeof tag, "pw-bf16 M%d %d->%d g%d in%d out%d off%d", M, Cin, Cout, groups, gin, gout, off);
    int Kg = Cin / groups, Ng = Cout / groups;
    Buf xs(M * Cin), w(Cout * Kg, off), yf(M * Cout, off);
    xs.rand(); w.rand();
    // x in bf16: the buffer's floats rounded, stored as 16-bit halves (offset `off` halves).
    std::vector<unsigned short> xstore(M * Cin + 16), ystore(M * Cout + 16);
    unsigned short* x = xstore.data() + off; unsigned short* y = ystore.data() + off;
    for (int i = 0; i < M * Cin; i++) { float r = bf16_reference(xs[i]); unsigned u; memcpy(&u, &r, 4); x[i] = (unsigned short)(u >> 16); }
    auto xv = [&](int i) { unsigned u = (unsigned)x[i] << 16; float f; memcpy(&f, &u, 4); return (double)f; };
    std::vector<double> z((size_t)M * Cout), yref((size_t)M * Cout);
    for (int m = 0; m < M; m++) for (int s = 0; s < Cout; s++) {
        int g = s / Ng; double a = 0;
        for (int k = 0; k < Kg; k++) a += (double)bf16_reference(w[s * Kg + k]) * xv(m * Cin + psrc(g * Kg + k, Cin, gin));
        z[(size_t)m * Cout + s] = a; }
    for (int m = 0; m < M; m++) for (int d = 0; d < Cout; d++) yref[(size_t)m * Cout + d] = z[(size_t)m * Cout + psrc(d, Cout, gout)];
    PwBf16 fwd[3] = {pointwise_bf16_forward_128x16, pointwise_bf16_forward_128x32, pointwise_bf16_forward_128x64};
    int bns[3] = {16, 32, 64};
    for (int v = 0; v < 3; v++) {
        yf.fill(12345); for (int i = 0; i < M * Cout; i++) y[i] = 0x7fc1;
        launch(fwd[v], dim3{cdiv(M, 128), cdiv(Ng, bns[v]), (unsigned)groups}, 256, (const unsigned short*)x, (const float*)w.p, y, yf.p, M, Cin, Cout, groups, gin, gout);
        check(std::string(tag) + " fp32 out" + std::to_string(bns[v]), yf.p, yref, 2e-5);
        // The bf16 output is the fp32 one rounded, bit for bit.
        checks++;
        for (int i = 0; i < M * Cout; i++) {
            float r = bf16_reference(yf[i]); unsigned u; memcpy(&u, &r, 4);
            if (y[i] != (unsigned short)(u >> 16)) { fail(std::string(tag) + " bf16 out" + std::to_string(bns[v]) + " at " + std::to_string(i)); break; }
        }
        // Only the bf16 output asked for: the same bits.
        std::vector<unsigned short> alone(ystore.size(), 0x7fc1);
        launch(fwd[v], dim3{cdiv(M, 128), cdiv(Ng, bns[v]), (unsigned)groups}, 256, (const unsigned short*)x, (const float*)w.p, alone.data() + off, (float*)nullptr, M, Cin, Cout, groups, gin, gout);
        checks++;
        if (!std::equal(y, y + M * Cout, alone.data() + off)) fail(std::string(tag) + " bf16-only out" + std::to_string(bns[v]) + " differs");
    }
}
static void test_pointwise_bf16_backward_data(int M, int Cin, int Cout, int groups, int gin, int gout, int off)
{
    char tag[128]; snprintf(tag, sizeof tag, "pw-bf16 bwd-data M%d %d->%d g%d in%d out%d off%d", M, Cin, Cout, groups, gin, gout, off);
    int Kg = Cin / groups, Ng = Cout / groups;
    Buf dys(M * Cout), w(Cout * Kg, off), dxf(M * Cin, off), dxf0(M * Cin);
    dys.rand(); w.rand(); dxf0.rand();
    std::vector<unsigned short> dystore(M * Cout + 16), dxstore(M * Cin + 16), dx0(M * Cin);
    unsigned short* dy = dystore.data() + off; unsigned short* dx = dxstore.data() + off;
    for (int i = 0; i < M * Cout; i++) dy[i] = bf16_bits(dys[i]);
    for (int i = 0; i < M * Cin; i++) dx0[i] = bf16_bits(dxf0[i]);
    // dz[m, s] = dy[m, d] where src_out(d) = s; sum[m, src_in(g*Kg + k)] = Σ_n dz[m, g*Ng + n]·bf16(w[g*Ng + n, k])
    std::vector<double> sum((size_t)M * Cin, 0.0);
    for (int m = 0; m < M; m++) for (int d = 0; d < Cout; d++) {
        int s = psrc(d, Cout, gout), g = s / Ng; double dz = bf16_value(dy[m * Cout + d]);
        for (int k = 0; k < Kg; k++) sum[(size_t)m * Cin + psrc(g * Kg + k, Cin, gin)] += dz * bf16_reference(w[s * Kg + k]); }
    PwBf16Bwd bwd[3] = {pointwise_bf16_backward_data_128x16, pointwise_bf16_backward_data_128x32, pointwise_bf16_backward_data_128x64};
    int bns[3] = {16, 32, 64};
    for (int v = 0; v < 3; v++)
        for (int acc : {0, 1}) {
            std::string name = std::string(tag) + " bn" + std::to_string(bns[v]) + (acc ? " +=" : " =");
            std::vector<double> want(sum);
            if (acc) for (int i = 0; i < M * Cin; i++) want[i] += dxf0[i];
            for (int i = 0; i < M * Cin; i++) { dxf[i] = acc ? dxf0[i] : 12345.0f; dx[i] = acc ? dx0[i] : 0x7fc1; }
            launch(bwd[v], dim3{cdiv(M, 128), cdiv(Kg, bns[v]), (unsigned)groups}, 256, (const unsigned short*)dy, (const float*)w.p, dx, dxf.p, M, Cin, Cout, groups, gin, gout, acc);
            check(name + " fp32", dxf.p, want, 2e-5);
            // The bf16 output: its own old value widened, plus the same fp32 sum, rounded once;
            // so within half a bf16 ulp (plus fp32 accumulation error) of old + the exact sum.
            checks++;
            for (int i = 0; i < M * Cin; i++) {
                double exact = sum[i] + (acc ? bf16_value(dx0[i]) : 0.0), got = bf16_value(dx[i]);
                double halfUlp = exact == 0 ? 0 : std::ldexp(1.0, std::ilogb(exact) - 8);
                if (!(std::fabs(got - exact) <= halfUlp + 2e-5 * std::max(1.0, std::fabs(exact)))) {
                    fail(name + " bf16 at " + std::to_string(i) + ": got " + std::to_string(got) + " want " + std::to_string(exact)); break; }
            }
        }
}
using PwBf16Bw = void (*)(const unsigned short*, const unsigned short*, float*, unsigned*, float*, int, int, int, int, int, int, int, int, int);
static void test_pointwise_bf16_backward_weight(int M, int Cin, int Cout, int groups, int gin, int gout, int off)
{
    char tag[128]; snprintf(tag, sizeof tag, "pw-bf16 bwd-w M%d %d->%d g%d in%d out%d off%d", M, Cin, Cout, groups, gin, gout, off);
    int Kg = Cin / groups, Ng = Cout / groups;
    Buf xs(M * Cin), dys(M * Cout), dw(Cout * Kg, off), dw0(Cout * Kg);
    xs.rand(); dys.rand(); dw0.rand();
    std::vector<unsigned short> xstore(M * Cin + 16), dystore(M * Cout + 16);
    unsigned short* x = xstore.data() + off; unsigned short* dy = dystore.data() + off;
    for (int i = 0; i < M * Cin; i++) x[i] = bf16_bits(xs[i]);
    for (int i = 0; i < M * Cout; i++) dy[i] = bf16_bits(dys[i]);
    std::vector<double> want = dw0.d();
    for (int m = 0; m < M; m++) for (int d = 0; d < Cout; d++) {
        int s = psrc(d, Cout, gout), g = s / Ng; double dz = bf16_value(dy[m * Cout + d]);
        for (int k = 0; k < Kg; k++) want[(size_t)s * Kg + k] += dz * bf16_value(x[m * Cin + psrc(g * Kg + k, Cin, gin)]); }
    PwBf16Bw bww[3] = {pointwise_bf16_backward_weight_128x16, pointwise_bf16_backward_weight_128x32, pointwise_bf16_backward_weight_128x64};
    int bns[3] = {16, 32, 64};
    for (int v = 0; v < 3; v++)
        for (int rps : {M, 16, 45}) {
            int splits = cdiv(M, rps);
            Buf partial(splits * Cout * Kg); partial.fill(777);
            std::string name = std::string(tag) + " bn" + std::to_string(bns[v]) + " rps" + std::to_string(rps);
            Tickets tickets(cdiv(Ng, 128) * cdiv(Kg, bns[v]) * groups);
            for (int i = 0; i < Cout * Kg; i++) dw[i] = dw0[i];
            launch(bww[v], dim3{cdiv(Ng, 128), cdiv(Kg, bns[v]), (unsigned)(groups * splits)}, 256, (const unsigned short*)dy, (const unsigned short*)x, partial.p,
                   tickets.p(), dw.p, M, Cin, Cout, groups, gin, gout, splits, rps, 1);
            check(name, dw.p, want, 5e-5);
            tickets.expect_zero(name);
        }
}
static void test_shuffle(int rows, int C, int G)
{
    Buf x(rows * C, 1), y(rows * C), dy(rows * C), dx(rows * C, 1); x.rand(); dy.rand(); dx.rand();
    std::vector<double> yref(rows * C), dxref = dx.d();
    for (int r = 0; r < rows; r++) for (int g = 0; g < G; g++) for (int j = 0; j < C / G; j++) {
        yref[r * C + j * G + g] = x[r * C + g * (C / G) + j];
        dxref[r * C + g * (C / G) + j] += dy[r * C + j * G + g]; }
    y.fill(4242);
    launch(channel_shuffle_forward, dim3{2, 1, 1}, 256, (const float*)x.p, y.p, rows, C, G);
    check("shuffle fwd C" + std::to_string(C) + " G" + std::to_string(G), y.p, yref, 0);
    launch(channel_shuffle_backward, dim3{3, 1, 1}, 256, (const float*)dy.p, dx.p, rows, C, G, 1);
    check("shuffle bwd C" + std::to_string(C) + " G" + std::to_string(G), dx.p, dxref, 1e-6);
}

// ---------------------------------------------------------------- depthwise
static void test_depthwise(int N, int H, int W, int C, int S, int off)
{
    char tag[128]; snprintf(tag, sizeof tag, "dw N%d %dx%d C%d s%d off%d", N, H, W, C, S, off);
    int Ho = (H - 1) / S + 1, Wo = (W - 1) / S + 1;
    Buf x(N * H * W * C, off), w(C * 9, off), y(N * Ho * Wo * C, off), dy(N * Ho * Wo * C, off), dx(N * H * W * C, off), dw(C * 9);
    x.rand(); w.rand(); dy.rand(); dx.rand(); dw.rand();
    std::vector<double> yref(y.n), dxref = dx.d(), dwref = dw.d();
    for (int n = 0; n < N; n++) for (int ho = 0; ho < Ho; ho++) for (int wo = 0; wo < Wo; wo++) for (int c = 0; c < C; c++)
        for (int kh = 0; kh < 3; kh++) for (int kw = 0; kw < 3; kw++) {
            int h = ho * S - 1 + kh, ww = wo * S - 1 + kw;
            if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
            int xi = ((n * H + h) * W + ww) * C + c, yi = ((n * Ho + ho) * Wo + wo) * C + c;
            yref[yi] += (double)x[xi] * w[c * 9 + kh * 3 + kw];
            dxref[xi] += (double)dy[yi] * w[c * 9 + kh * 3 + kw];
            dwref[c * 9 + kh * 3 + kw] += (double)dy[yi] * x[xi]; }
    y.fill(999);
    launch(depthwise3x3_forward, dim3{3, 1, 1}, 256, (const float*)x.p, (const float*)w.p, y.p, N, H, W, C, S,
           (double*)nullptr, (unsigned*)nullptr, (float*)nullptr, (float*)nullptr, (float*)nullptr, (float*)nullptr, 0.0f, 0.0f);
    check(std::string(tag) + " fwd", y.p, yref);
    // With the batch statistics of y, over 1 and 3 splits.
    if (N * Ho * Wo >= 2) for (unsigned splits : {1u, 3u}) {
        std::string name = std::string(tag) + " fwd+stats splits" + std::to_string(splits);
        int items = (C % 4 == 0 && off == 0) ? C / 4 : C;
        int lanes = dw_stat_lanes(items);
        StatsCase st(yref, N * Ho * Wo, C);
        Buf partial(splits * 2 * C * 2);
        Tickets tickets(cdiv(items, lanes));
        y.fill(999);
        launch(depthwise3x3_forward, dim3{cdiv(items, lanes), splits, 1}, 256, (const float*)x.p, (const float*)w.p, y.p, N, H, W, C, S,
               reinterpret_cast<double*>(partial.p), tickets.p(), st.rm.p, st.rv.p, st.sm.p, st.si.p, StatsCase::mom, StatsCase::eps);
        check(name, y.p, yref);
        st.expect(name);
        tickets.expect_zero(name);
    }
    launch(depthwise3x3_backward_data, dim3{2, 1, 1}, 256, (const float*)dy.p, (const float*)w.p, dx.p, N, H, W, C, S, 1);
    check(std::string(tag) + " bwd-data", dx.p, dxref);
    for (int splits : {1, 3, 7}) {
        Buf partial(splits * C * 9); partial.fill(555);
        Buf dwc(C * 9); for (int i = 0; i < C * 9; i++) dwc[i] = dw[i];
        Tickets tickets(cdiv(C, 32));
        std::string name = std::string(tag) + " bwd-w splits" + std::to_string(splits);
        launch(depthwise3x3_backward_weight, dim3{cdiv(C, 32), (unsigned)splits, 1}, 256, (const float*)dy.p, (const float*)x.p, partial.p, tickets.p(), dwc.p, N, H, W, C, S, 1);
        check(name, dwc.p, dwref, 5e-5);
        tickets.expect_zero(name);
    }
}

// ---------------------------------------------------------------- conv2d
using CvFwd = void (*)(const float*, const float*, float*, int, int, int, int, int, int, int, int, int);
using CvBw = void (*)(const float*, const float*, float*, unsigned*, float*, int, int, int, int, int, int, int, int, int, int, int, int);
static void test_conv(int N, int H, int W, int Cin, int Cout, int K, int S, int P, int groups, int off)
{
    char tag[160]; snprintf(tag, sizeof tag, "conv N%d %dx%d %d->%d K%d S%d P%d g%d off%d", N, H, W, Cin, Cout, K, S, P, groups, off);
    int Cig = Cin / groups, Cog = Cout / groups, R = K * K * Cig;
    int Ho = (H + 2 * P - K) / S + 1, Wo = (W + 2 * P - K) / S + 1;
    Buf x(N * H * W * Cin, off), w(Cout * R, off), y(N * Ho * Wo * Cout, off), dy(N * Ho * Wo * Cout, off), dx(N * H * W * Cin, off), dw(Cout * R);
    x.rand(); w.rand(); dy.rand(); dx.rand(); dw.rand();
    std::vector<double> yref(y.n), dxref = dx.d(), dwref = dw.d();
    for (int n = 0; n < N; n++) for (int ho = 0; ho < Ho; ho++) for (int wo = 0; wo < Wo; wo++) for (int co = 0; co < Cout; co++) {
        int g = co / Cog, yi = ((n * Ho + ho) * Wo + wo) * Cout + co;
        for (int kh = 0; kh < K; kh++) for (int kw = 0; kw < K; kw++) for (int ci = 0; ci < Cig; ci++) {
            int h = ho * S - P + kh, ww = wo * S - P + kw;
            if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
            int xi = ((n * H + h) * W + ww) * Cin + g * Cig + ci, wi = ((co * K + kh) * K + kw) * Cig + ci;
            yref[yi] += (double)x[xi] * w[wi]; dxref[xi] += (double)dy[yi] * w[wi]; dwref[wi] += (double)dy[yi] * x[xi]; } }
    CvFwd fwd[3] = {conv2d_forward_64x16, conv2d_forward_64x32, conv2d_forward_64x64};
    CvFwd bwd[3] = {conv2d_backward_data_64x16, conv2d_backward_data_64x32, conv2d_backward_data_64x64};
    int bns[3] = {16, 32, 64};
    for (int v = 0; v < 3; v++) {
        y.fill(4321);
        launch(fwd[v], dim3{cdiv(N * Ho * Wo, 64), cdiv(Cog, bns[v]), (unsigned)groups}, 256, (const float*)x.p, (const float*)w.p, y.p, N, H, W, Cin, Cout, K, S, P, groups);
        check(std::string(tag) + " fwd" + std::to_string(bns[v]), y.p, yref);
        Buf dxc(dx.n, off); for (int i = 0; i < dx.n; i++) dxc[i] = dx[i];
        launch(bwd[v], dim3{cdiv(N * H * W, 64), cdiv(Cig, bns[v]), (unsigned)groups}, 256, (const float*)dy.p, (const float*)w.p, dxc.p, N, H, W, Cin, Cout, K, S, P, groups);
        check(std::string(tag) + " bwd-data" + std::to_string(bns[v]), dxc.p, dxref);
    }
    CvBw bww[9] = {conv2d_backward_weight_16x16, conv2d_backward_weight_16x32, conv2d_backward_weight_16x64,
                   conv2d_backward_weight_32x16, conv2d_backward_weight_32x32, conv2d_backward_weight_32x64,
                   conv2d_backward_weight_64x16, conv2d_backward_weight_64x32, conv2d_backward_weight_64x64};
    int pix = N * Ho * Wo;
    for (int v = 0; v < 9; v++) {
        int BM = bns[v / 3], BN = bns[v % 3];
        if (v != 0 && v != 8 && v != 6 && v != 2 && !(BM == tile(Cog) && BN == tile(R))) continue;
        for (int rps : {pix, 16, 21}) {
            int splits = cdiv(pix, rps);
            Buf partial(splits * Cout * R); partial.fill(777);
            Buf dwc(dw.n); for (int i = 0; i < dw.n; i++) dwc[i] = dw[i];
            Tickets tickets(cdiv(Cog, BM) * cdiv(R, BN) * groups);
            std::string name = std::string(tag) + " bwd-w" + std::to_string(BM) + "x" + std::to_string(BN) + " rps" + std::to_string(rps);
            launch(bww[v], dim3{cdiv(Cog, BM), cdiv(R, BN), (unsigned)(groups * splits)}, 256, (const float*)dy.p, (const float*)x.p, partial.p, tickets.p(), dwc.p, N, H, W, Cin, Cout, K, S, P, groups, splits, rps, 1);
            check(name, dwc.p, dwref, 5e-5);
            tickets.expect_zero(name);
        }
    }
}

// ---------------------------------------------------------------- batch norm
static void test_batchnorm(int M, int C, int act, bool training, int splits, int off)
{
    char tag[128]; snprintf(tag, sizeof tag, "bn M%d C%d act%d train%d splits%d off%d", M, C, act, training, splits, off);
    Buf x(M * C, off), gamma(C), beta(C), rm(C), rv(C), y(M * C, off), sm(C), si(C), dy(M * C, off), dx(M * C, off), dg(C), db(C);
    x.rand(-2, 5); gamma.rand(0.5, 2); beta.rand(); rm.rand(); rv.rand(0.5, 2); dy.rand(); dx.rand(); dg.rand(); db.rand();
    for (int i = 0; i < M * C; i++) x[i] += 100.0f; // large mean, modest variance
    std::vector<double> mean(C), inv(C), rmref = rm.d(), rvref = rv.d(), yref(M * C), dxref = dx.d(), dgref = dg.d(), dbref = db.d();
    float mom = 0.1f, eps = 1e-5f;
    for (int c = 0; c < C; c++) {
        if (training) {
            double s = 0; for (int m = 0; m < M; m++) s += x[m * C + c]; s /= M;
            double q = 0; for (int m = 0; m < M; m++) q += (x[m * C + c] - s) * (x[m * C + c] - s);
            mean[c] = s; inv[c] = 1 / std::sqrt(q / M + eps);
            rmref[c] = (1 - mom) * rm[c] + mom * s; rvref[c] = (1 - mom) * rv[c] + mom * q / (M - 1);
        } else { mean[c] = rm[c]; inv[c] = 1 / std::sqrt((double)rv[c] + eps); } }
    auto actf = [&](double v) { return act == 1 ? std::max(v, 0.0) : act == 2 ? std::min(std::max(v, 0.0), 6.0) : v; };
    for (int m = 0; m < M; m++) for (int c = 0; c < C; c++) yref[m * C + c] = actf(gamma[c] * (x[m * C + c] - mean[c]) * inv[c] + beta[c]);
    Buf partial(splits * 3 * C * 2), tickets(1);
    double* part = reinterpret_cast<double*>(partial.p);
    unsigned* counter = reinterpret_cast<unsigned*>(tickets.p);
    *counter = 0; // the stats kernels' last-block counter: 0 before a launch, and again after it
    sm.fill(4242); si.fill(4242); y.fill(4242); // forward outputs are overwritten, never read first
    if (training) {
        launch(batchnorm_forward_stats, dim3{cdiv(C, 32), (unsigned)splits, 1}, 256, (const float*)x.p, part, counter, M, C, mom, eps, rm.p, rv.p, sm.p, si.p);
        if (*counter != 0) fail(std::string(tag) + " forward stats left the ticket counter at " + std::to_string(*counter));
        check(std::string(tag) + " running mean", rm.p, rmref, 1e-6); check(std::string(tag) + " running var", rv.p, rvref, 1e-5);
    } else launch(batchnorm_eval_stats, dim3{1, 1, 1}, 256, (const float*)rm.p, (const float*)rv.p, sm.p, si.p, C, eps);
    check(std::string(tag) + " saveMean", sm.p, mean, 1e-6); check(std::string(tag) + " saveInvStd", si.p, inv, 1e-4);
    launch(batchnorm_forward_apply, dim3{2, 1, 1}, 256, (const float*)x.p, (const float*)gamma.p, (const float*)beta.p, (const float*)sm.p, (const float*)si.p, y.p, M, C, act, (const float*)nullptr);
    check(std::string(tag) + " y", y.p, yref, 2e-3); // x ~ 100: (x - mean) loses ~1e-5 absolute
    {   // the residual add fused: exactly y + residual, the two rounded terms summed once
        Buf res(M * C, off), yr(M * C, off); res.rand();
        std::vector<double> want(M * C);
        for (int i = 0; i < M * C; i++) want[i] = (double)(float)(y[i] + res[i]);
        launch(batchnorm_forward_apply, dim3{2, 1, 1}, 256, (const float*)x.p, (const float*)gamma.p, (const float*)beta.p, (const float*)sm.p, (const float*)si.p, yr.p, M, C, act, (const float*)res.p);
        check(std::string(tag) + " y + residual", yr.p, want, 0);
    }
    // backward from the kernel's y (mask) and saved stats
    auto pass = [&](float v) { return act == 1 ? v > 0 : act == 2 ? (v > 0 && v < 6) : true; };
    std::vector<double> sg(C), sgx(C);
    for (int m = 0; m < M; m++) for (int c = 0; c < C; c++) if (pass(y[m * C + c])) {
        double xh = (x[m * C + c] - (double)sm[c]) * si[c]; sg[c] += dy[m * C + c]; sgx[c] += dy[m * C + c] * xh; }
    for (int c = 0; c < C; c++) { dbref[c] += sg[c]; dgref[c] += sgx[c]; }
    for (int m = 0; m < M; m++) for (int c = 0; c < C; c++) {
        double g = pass(y[m * C + c]) ? dy[m * C + c] : 0, d = g;
        if (training) { double xh = (x[m * C + c] - (double)sm[c]) * si[c]; d = g - sg[c] / M - xh * sgx[c] / M; }
        dxref[m * C + c] += gamma[c] * (double)si[c] * d; }
    Buf sums(2 * C);
    launch(batchnorm_backward_stats, dim3{cdiv(C, 32), (unsigned)splits, 1}, 256, (const float*)x.p, (const float*)gamma.p, (const float*)beta.p, (const float*)dy.p, (const float*)sm.p, (const float*)si.p, part, counter, M, C, act, dg.p, db.p, sums.p);
    if (*counter != 0) fail(std::string(tag) + " backward stats left the ticket counter at " + std::to_string(*counter));
    check(std::string(tag) + " dgamma", dg.p, dgref, 1e-3); check(std::string(tag) + " dbeta", db.p, dbref, 1e-5);
    launch(batchnorm_backward_data, dim3{3, 1, 1}, 256, (const float*)x.p, (const float*)gamma.p, (const float*)beta.p, (const float*)dy.p, (const float*)sm.p, (const float*)si.p, (const float*)(training ? sums.p : nullptr), dx.p, M, C, act, (int)training, 1);
    check(std::string(tag) + " dx", dx.p, dxref, 2e-3);
}

// ---------------------------------------------------------------- sync batch norm
// W ranks of unequal counts and means far from 0: pack one row, combine (Chan) and the correction.
static void test_syncbn(int W, int C)
{
    char tag[64]; snprintf(tag, sizeof tag, "syncbn W%d C%d", W, C);
    int width = 1 + 2 * C, rank = W / 2;
    Buf g(W * width), mean(C), inv(C), rm(C), rv(C), mu(C), var(C), sums(2 * C), gamma(C), slope(C), shift(C);
    g.fill(0); mean.rand(90, 110); inv.rand(0.5, 2); rm.rand(); rv.rand(0.5, 2); sums.rand(-2, 2); gamma.rand(0.5, 1.5);
    for (int r = 0; r < W; r++) if (r != rank) {
        g[r * width] = (float)(3 + 4 * r);
        for (int c = 0; c < C; c++) { g[r * width + 1 + c] = 100.0f + (float)(r - c % 3); g[r * width + 1 + C + c] = 0.5f + 0.25f * (float)((r + c) % 4); } }
    float eps = 1e-5f, mom = 0.1f, rows = 9;
    std::vector<double> gref = g.d();
    gref[rank * width] = rows;
    for (int c = 0; c < C; c++) { gref[rank * width + 1 + c] = mean[c]; gref[rank * width + 1 + C + c] = 1.0 / ((double)inv[c] * inv[c]) - eps; }
    launch(syncbn_pack, dim3{cdiv(1 + C, 256), 1, 1}, 256, (const float*)mean.p, (const float*)inv.p, g.p, C, rank, rows, eps);
    check(std::string(tag) + " pack", g.p, gref, 1e-6);
    // The pooled statistics in two passes over the (count, mean, variance) rows.
    double total = 0; for (int r = 0; r < W; r++) total += g[r * width];
    std::vector<double> muref(C), varref(C), rmref = rm.d(), rvref = rv.d(), slref(C), shref(C);
    for (int c = 0; c < C; c++) {
        for (int r = 0; r < W; r++) muref[c] += g[r * width] * (double)g[r * width + 1 + c];
        muref[c] /= total;
        for (int r = 0; r < W; r++) { double d = g[r * width + 1 + c] - muref[c]; varref[c] += g[r * width] * ((double)g[r * width + 1 + C + c] + d * d); }
        varref[c] /= total;
        rmref[c] = (1 - mom) * rm[c] + mom * muref[c]; rvref[c] = (1 - mom) * rv[c] + mom * varref[c] * total / (total - 1);
        double scale = (double)gamma[c] * inv[c] / total; shref[c] = -scale * sums[c]; slref[c] = -scale * sums[C + c]; }
    mu.fill(4242); var.fill(4242); slope.fill(4242); shift.fill(4242);
    launch(syncbn_combine, dim3{cdiv(C, 256), 1, 1}, 256, (const float*)g.p, W, C, mom, rm.p, rv.p, mu.p, var.p);
    check(std::string(tag) + " mean", mu.p, muref, 1e-6); check(std::string(tag) + " var", var.p, varref, 1e-5);
    check(std::string(tag) + " running mean", rm.p, rmref, 1e-6); check(std::string(tag) + " running var", rv.p, rvref, 1e-5);
    launch(syncbn_correction, dim3{cdiv(C, 256), 1, 1}, 256, (const float*)sums.p, (const float*)gamma.p, (const float*)inv.p, (const float*)g.p, W, C, slope.p, shift.p);
    check(std::string(tag) + " slope", slope.p, slref, 1e-6); check(std::string(tag) + " shift", shift.p, shref, 1e-6);
}

// ---------------------------------------------------------------- pooling, loss, sgd, elementwise, linear
static void test_pool(int N, int H, int W, int C, int K, int S, int P)
{
    char tag[128]; snprintf(tag, sizeof tag, "pool N%d %dx%d C%d K%d S%d P%d", N, H, W, C, K, S, P);
    int HW = H * W;
    Buf x(N * HW * C), y(N * C), dy(N * C), dx(N * HW * C); x.rand(); dy.rand(); dx.rand();
    for (int i = 0; i < x.n; i += 7) x[i] = x[(i * 13) % x.n]; // ties
    for (int i = 0; i < x.n; i += 5) x[i] = 0.25f;
    std::vector<double> yref(N * C), dxref = dx.d();
    for (int n = 0; n < N; n++) for (int c = 0; c < C; c++) { double s = 0; for (int p = 0; p < HW; p++) s += x[(n * HW + p) * C + c]; yref[n * C + c] = s / HW;
        for (int p = 0; p < HW; p++) dxref[(n * HW + p) * C + c] += dy[n * C + c] / HW; }
    y.fill(4242);
    launch(global_avgpool_forward, dim3{cdiv(C, 32), (unsigned)N, 1}, 256, (const float*)x.p, y.p, N, HW, C);
    check(std::string(tag) + " gap fwd", y.p, yref);
    launch(global_avgpool_backward, dim3{2, 1, 1}, 256, (const float*)dy.p, dx.p, N, HW, C, 1);
    check(std::string(tag) + " gap bwd", dx.p, dxref);
    int Ho = (H + 2 * P - K) / S + 1, Wo = (W + 2 * P - K) / S + 1;
    Buf my(N * Ho * Wo * C), mdy(N * Ho * Wo * C), mdx(N * HW * C); mdy.rand(); mdx.rand();
    std::vector<double> myref(my.n), mdxref = mdx.d();
    for (int n = 0; n < N; n++) for (int ho = 0; ho < Ho; ho++) for (int wo = 0; wo < Wo; wo++) for (int c = 0; c < C; c++) {
        int best = -1;
        for (int h = ho * S - P; h < ho * S - P + K; h++) for (int w = wo * S - P; w < wo * S - P + K; w++) {
            if (h < 0 || h >= H || w < 0 || w >= W) continue;
            int i = ((n * H + h) * W + w) * C + c; if (best < 0 || x[i] > x[best]) best = i; }
        int o = ((n * Ho + ho) * Wo + wo) * C + c; myref[o] = x[best]; mdxref[best] += mdy[o]; }
    my.fill(4242);
    launch(maxpool_forward, dim3{2, 1, 1}, 256, (const float*)x.p, my.p, N, H, W, C, K, S, P);
    check(std::string(tag) + " maxpool fwd", my.p, myref, 0);
    launch(maxpool_backward, dim3{3, 1, 1}, 256, (const float*)x.p, (const float*)mdy.p, mdx.p, N, H, W, C, K, S, P, 1);
    check(std::string(tag) + " maxpool bwd", mdx.p, mdxref, 1e-6);
}
static void test_loss(int N, int K, float eps)
{
    char tag[64]; snprintf(tag, sizeof tag, "xent N%d K%d eps%.2f", N, K, eps);
    Buf z(N * K), p(N * K), rl(N), loss(1), dl(1), dz(N * K); z.rand(-20, 30); dz.rand(); dl[0] = 0.7f;
    std::vector<int> lab(N); for (int n = 0; n < N; n++) lab[n] = (n * 7 + 3) % K;
    std::vector<double> pref(N * K), dzref = dz.d(); double total = 0;
    for (int n = 0; n < N; n++) { double mx = -1e300, se = 0, sz = 0;
        for (int k = 0; k < K; k++) mx = std::max(mx, (double)z[n * K + k]);
        for (int k = 0; k < K; k++) { se += std::exp(z[n * K + k] - mx); sz += z[n * K + k]; }
        for (int k = 0; k < K; k++) pref[n * K + k] = std::exp(z[n * K + k] - mx) / se;
        total += mx + std::log(se) - (1 - eps) * z[n * K + lab[n]] - eps / K * sz; }
    p.fill(4242); rl.fill(4242); loss.fill(4242);
    launch(softmax_xent_forward_rows, dim3{(unsigned)N, 1, 1}, 256, (const float*)z.p, (const int*)lab.data(), p.p, rl.p, N, K, eps);
    launch(softmax_xent_forward_mean, dim3{1, 1, 1}, 256, (const float*)rl.p, loss.p, N);
    check(std::string(tag) + " probs", p.p, pref, 1e-5);
    check(std::string(tag) + " loss", loss.p, {total / N}, 1e-5);
    for (int n = 0; n < N; n++) for (int k = 0; k < K; k++) dzref[n * K + k] += 0.7 * (p[n * K + k] - ((k == lab[n] ? 1 - eps : 0) + eps / K)) / N;
    launch(softmax_xent_backward, dim3{2, 1, 1}, 256, (const float*)p.p, (const int*)lab.data(), (const float*)dl.p, dz.p, N, K, eps, 1);
    check(std::string(tag) + " dlogits", dz.p, dzref, 1e-6);
}
static void test_sgd(int n, int decayed, bool nesterov, float mu, bool rateInMemory = false)
{
    Buf p(n), g(n), b(n), rate(1); p.rand(); g.rand(); b.rand();
    std::vector<double> pr = p.d(), br = b.d(); float lr = 0.05f, wd = 0.01f; rate[0] = lr;
    for (int i = 0; i < n; i++) { double gg = g[i] + (i < decayed ? wd * p[i] : 0); br[i] = mu * b[i] + gg; gg = nesterov ? gg + mu * br[i] : br[i]; pr[i] = p[i] - lr * gg; }
    // With the rate in memory the scalar is a decoy the kernel must ignore.
    launch(sgd_step, dim3{2, 1, 1}, 256, p.p, (const float*)g.p, b.p, n, decayed, rateInMemory ? 7.0f : lr, mu, wd, (int)nesterov,
           rateInMemory ? (const float*)rate.p : (const float*)nullptr);
    check("sgd p", p.p, pr, 1e-6); check("sgd buf", b.p, br, 1e-6);
}
static void test_elementwise(int n, int off)
{
    Buf a(n, off), b(n, off), y(n, off), dy(n, off), dx(n, off); a.rand(-8, 8); b.rand(); dy.rand(); dx.rand();
    std::vector<double> r(n);
    for (int i = 0; i < n; i++) r[i] = (double)a[i] + b[i];
    y.fill(4242);
    launch(elementwise_add, dim3{2, 1, 1}, 256, (const float*)a.p, (const float*)b.p, y.p, n); check("add n" + std::to_string(n), y.p, r, 2e-7);
    std::vector<double> acc = dx.d(); for (int i = 0; i < n; i++) acc[i] += a[i];
    launch(elementwise_accumulate, dim3{1, 1, 1}, 256, (const float*)a.p, dx.p, n); check("accumulate n" + std::to_string(n), dx.p, acc, 2e-7);
    for (int act = 0; act < 3; act++) {
        std::vector<double> f(n), bw = dx.d();
        for (int i = 0; i < n; i++) { double v = a[i]; f[i] = act == 1 ? std::max(v, 0.0) : act == 2 ? std::min(std::max(v, 0.0), 6.0) : v;
            bool ps = act == 0 || (act == 1 ? f[i] > 0 : (f[i] > 0 && f[i] < 6)); if (ps) bw[i] += dy[i]; }
        y.fill(4242);
        launch(elementwise_activation_forward, dim3{3, 1, 1}, 256, (const float*)a.p, y.p, n, act); check("act fwd " + std::to_string(act), y.p, f, 0);
        launch(elementwise_activation_backward, dim3{3, 1, 1}, 256, (const float*)y.p, (const float*)dy.p, dx.p, n, act, 1); check("act bwd " + std::to_string(act), dx.p, bw, 2e-7);
    }
    float v = -2.5f; unsigned bits; memcpy(&bits, &v, 4);
    launch(elementwise_fill, dim3{1, 1, 1}, 256, (unsigned*)y.p, n, bits); check("fill", y.p, std::vector<double>(n, -2.5), 0);
}
static void test_linear(int N, int Out)
{
    Buf y(N * Out), b(Out), dy(N * Out), db(Out); y.rand(); b.rand(); dy.rand(); db.rand();
    std::vector<double> yr = y.d(), dbr = db.d();
    for (int n = 0; n < N; n++) for (int o = 0; o < Out; o++) { yr[n * Out + o] += b[o]; dbr[o] += dy[n * Out + o]; }
    launch(linear_add_bias, dim3{2, 1, 1}, 256, y.p, (const float*)b.p, N, Out); check("linear bias fwd", y.p, yr, 2e-7);
    launch(linear_bias_backward, dim3{cdiv(Out, 32), 1, 1}, 256, (const float*)dy.p, db.p, N, Out); check("linear bias bwd", db.p, dbr, 1e-5);
}

int main(int argc, char** argv)
{
    std::string only = argc > 1 ? argv[1] : "";
    auto want = [&](const char* s) { return only.empty() || only == s; };
    if (want("ew")) { for (int n : {1, 3, 4, 1000, 1027}) for (int off : {0, 1}) test_elementwise(n, off); test_linear(5, 37); test_linear(3, 10);
        test_sgd(1000, 613, false, 0.9f); test_sgd(999, 999, true, 0.9f); test_sgd(37, 0, false, 0.0f); test_sgd(999, 500, true, 0.9f, true); }
    if (want("loss")) { test_loss(5, 10, 0.1f); test_loss(3, 1000, 0.0f); test_loss(1, 300, 0.2f); }
    if (want("pool")) { test_pool(3, 5, 5, 7, 3, 2, 1); test_pool(1, 1, 1, 33, 1, 1, 0); test_pool(2, 8, 6, 4, 3, 2, 1); test_pool(2, 7, 7, 5, 2, 2, 0); test_pool(1, 4, 4, 3, 3, 1, 1); }
    if (want("shuffle")) { test_shuffle(5, 12, 3); test_shuffle(3, 12, 2); test_shuffle(2, 7, 7); test_shuffle(2, 8, 1); }
    if (want("pw")) {
        test_pointwise(75, 12, 18, 3, 2, 3, 0);
        test_pointwise(75, 12, 18, 3, 2, 3, 1);
        test_pointwise(25, 16, 96, 2, 0, 2, 0);
        test_pointwise(25, 16, 96, 2, 0, 2, 1);
        test_pointwise(70, 96, 16, 2, 2, 0, 0);
        test_pointwise(3, 7, 5, 1, 0, 0, 0);
        test_pointwise(130, 40, 80, 1, 4, 8, 0);
        test_pointwise(9, 18, 12, 6, 3, 4, 1);
        test_pointwise(1, 4, 4, 1, 0, 0, 0);
    }
    if (want("bf16")) {
        test_mma();
        test_pointwise_bf16(75, 12, 18, 3, 2, 3, 0);
        test_pointwise_bf16(75, 12, 18, 3, 2, 3, 1);
        test_pointwise_bf16(200, 64, 96, 2, 2, 0, 0);   // vector loads, two row tiles
        test_pointwise_bf16(130, 40, 80, 1, 4, 8, 0);
        test_pointwise_bf16(9, 18, 12, 6, 3, 4, 1);
        test_pointwise_bf16(3, 7, 5, 1, 0, 0, 0);
        test_pointwise_bf16(33, 96, 16, 2, 0, 0, 1);    // Kg = 48: a partial K stage
        test_pointwise_bf16(1, 4, 4, 1, 0, 0, 0);
        test_pointwise_bf16_backward_data(75, 12, 18, 3, 2, 3, 0);
        test_pointwise_bf16_backward_data(75, 12, 18, 3, 2, 3, 1);
        test_pointwise_bf16_backward_data(200, 96, 64, 2, 0, 2, 0);  // vector loads, two row tiles
        test_pointwise_bf16_backward_data(130, 80, 40, 1, 8, 4, 0);
        test_pointwise_bf16_backward_data(9, 18, 12, 6, 3, 4, 1);
        test_pointwise_bf16_backward_data(3, 7, 5, 1, 0, 0, 0);
        test_pointwise_bf16_backward_data(33, 16, 96, 2, 0, 0, 1);   // Ng = 48: a partial reduction stage
        test_pointwise_bf16_backward_data(40, 160, 16, 1, 0, 0, 0);  // Kg = 160: three column tiles
        test_pointwise_bf16_backward_weight(75, 12, 18, 3, 2, 3, 0);
        test_pointwise_bf16_backward_weight(75, 12, 18, 3, 2, 3, 1);
        test_pointwise_bf16_backward_weight(200, 64, 96, 2, 2, 0, 0);
        test_pointwise_bf16_backward_weight(130, 40, 80, 1, 4, 8, 0);
        test_pointwise_bf16_backward_weight(9, 18, 12, 6, 3, 4, 1);
        test_pointwise_bf16_backward_weight(3, 7, 5, 1, 0, 0, 0);
        test_pointwise_bf16_backward_weight(70, 16, 272, 1, 0, 0, 0);  // Ng = 272: three row tiles of 128
        test_pointwise_bf16_backward_weight(33, 160, 16, 2, 0, 0, 1);  // Kg = 80: two column tiles
    }
    if (want("dw")) { for (int S : {1, 2}) for (int off : {0, 1}) { test_depthwise(3, 5, 5, 8, S, off); test_depthwise(1, 1, 1, 33, S, off); test_depthwise(2, 7, 8, 3, S, off); test_depthwise(1, 6, 9, 36, S, off); } }
    if (want("bn")) { for (int act = 0; act < 3; act++) { test_batchnorm(75, 7, act, true, 3, 0); test_batchnorm(75, 8, act, false, 2, 1); }
        test_batchnorm(1000, 40, 2, true, 1, 0); test_batchnorm(1000, 40, 1, true, 9, 0); test_batchnorm(2, 3, 0, true, 5, 0); test_batchnorm(64, 36, 2, false, 4, 0);
        test_syncbn(1, 3); test_syncbn(3, 7); test_syncbn(8, 300); }
    if (want("conv")) {
        test_conv(2, 5, 5, 3, 8, 3, 2, 1, 1, 0);      // stem-like
        test_conv(1, 7, 6, 6, 9, 3, 1, 1, 3, 1);      // groups 3, odd
        test_conv(2, 5, 5, 8, 8, 3, 2, 1, 2, 0);      // vec paths, stride 2
        test_conv(1, 9, 9, 4, 20, 7, 2, 3, 1, 0);     // 7x7/2 stem
        test_conv(3, 4, 4, 8, 12, 1, 2, 0, 4, 0);     // shortcut 1x1 stride 2 grouped
        test_conv(1, 1, 1, 5, 3, 3, 1, 1, 1, 0);      // H = W = 1
        test_conv(1, 6, 6, 40, 36, 3, 1, 1, 2, 0);    // R = 180 > 64
    }
    failures += igc_emu::launch_failures;
    printf("%d checks, %d failures\n", checks, failures);
    return failures != 0;
}
