// elementwise.cu — elementwise ops over flat buffers (IBackend.Add, Accumulate, ActivationForward/
// Backward, Fill). Any shape: the kernels see n contiguous floats (n < 2^31).
//
//   elementwise_add:                 y[i] = a[i] + b[i]                (overwrite; y may alias a or b)
//   elementwise_accumulate:          dst[i] += src[i]                  (gradient accumulation)
//   elementwise_activation_forward:  y[i] = act(x[i])                  (overwrite; may run in place)
//   elementwise_activation_backward: dx[i] (+)= dy[i] · act'(y[i])     (ACCUMULATE, or overwrite when
//                                    accumulate == 0: igc_write_grad; the mask is read off
//                                    the OUTPUT y: ReLU passes where y > 0, ReLU6 where 0 < y < 6)
//   elementwise_fill:                p[i] = bits (any 32-bit pattern: a float's bits for F32, the
//                                    value for I32)
// act: 0 None, 1 ReLU, 2 ReLU6 (the C# Activation enum). Each kernel takes a float4 path when all
// of its pointers are 16-byte aligned (checked in the kernel), with a scalar tail for n % 4.
//
// ---- kernels and launch contract (block = 256 threads, 1-D; dynamic shared memory 0) -----------
// elementwise_add(const float* a, const float* b, float* y, int n)
// elementwise_accumulate(const float* src, float* dst, int n)
// elementwise_activation_forward(const float* x, float* y, int n, int act)
// elementwise_activation_backward(const float* y, const float* dy, float* dx, int n, int act, int accumulate)
// elementwise_fill(unsigned int* p, int n, unsigned int bits)
//   grid = max(1, min(ceil(n / 1024), 65535)) for every kernel (grid-stride: any grid >= 1 is correct).
#include "igc_common.cuh"

/// Visits the n elements as float4 quads q < n/4 when `vec`, then the tail n − n % 4 .. n − 1;
/// or as single elements when !vec. Calls quad(q) and one(i).
template <class Quad, class One>
__device__ __forceinline__ void ew_for_each(int n, bool vec, Quad quad, One one)
{
    if (vec)
    {
        const int nq = n / 4;
        IGC_GRID_LOOP(q, nq) quad(q);
        const unsigned tail = (unsigned)nq * 4u + blockIdx.x * blockDim.x + threadIdx.x;
        if (tail < (unsigned)n) one(tail);
        return;
    }
    IGC_GRID_LOOP(i, n) one(i);
}

extern "C" __global__ void __launch_bounds__(IGC_THREADS)
    elementwise_add(const float* a, const float* b, float* y, int n)
{
    const bool vec = igc_aligned16(a) && igc_aligned16(b) && igc_aligned16(y);
    ew_for_each(
        n, vec,
        [&](unsigned q) {
            const float4 u = reinterpret_cast<const float4*>(a)[q], v = reinterpret_cast<const float4*>(b)[q];
            reinterpret_cast<float4*>(y)[q] = make_float4(u.x + v.x, u.y + v.y, u.z + v.z, u.w + v.w);
        },
        [&](unsigned i) { y[i] = a[i] + b[i]; });
}

extern "C" __global__ void __launch_bounds__(IGC_THREADS)
    elementwise_accumulate(const float* __restrict__ src, float* __restrict__ dst, int n)
{
    const bool vec = igc_aligned16(src) && igc_aligned16(dst);
    ew_for_each(
        n, vec,
        [&](unsigned q) {
            const float4 s = reinterpret_cast<const float4*>(src)[q];
            float4 d = reinterpret_cast<float4*>(dst)[q];
            d.x += s.x; d.y += s.y; d.z += s.z; d.w += s.w;
            reinterpret_cast<float4*>(dst)[q] = d;
        },
        [&](unsigned i) { dst[i] += src[i]; });
}

extern "C" __global__ void __launch_bounds__(IGC_THREADS)
    elementwise_activation_forward(const float* x, float* y, int n, int act)
{
    const bool vec = igc_aligned16(x) && igc_aligned16(y);
    ew_for_each(
        n, vec,
        [&](unsigned q) {
            const float4 v = reinterpret_cast<const float4*>(x)[q];
            reinterpret_cast<float4*>(y)[q] = make_float4(igc_activate(act, v.x), igc_activate(act, v.y),
                                                          igc_activate(act, v.z), igc_activate(act, v.w));
        },
        [&](unsigned i) { y[i] = igc_activate(act, x[i]); });
}

extern "C" __global__ void __launch_bounds__(IGC_THREADS)
    elementwise_activation_backward(const float* __restrict__ y, const float* __restrict__ dy, float* __restrict__ dx,
                                    int n, int act, int accumulate)
{
    const bool vec = igc_aligned16(y) && igc_aligned16(dy) && igc_aligned16(dx);
    // Accumulating, a blocked element is left as it is (not + 0, which would turn −0 into +0).
    ew_for_each(
        n, vec,
        [&](unsigned q) {
            const float4 o = reinterpret_cast<const float4*>(y)[q], g = reinterpret_cast<const float4*>(dy)[q];
            float4 d = accumulate ? reinterpret_cast<float4*>(dx)[q] : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            if (igc_passes(act, o.x)) d.x = accumulate ? d.x + g.x : g.x;
            if (igc_passes(act, o.y)) d.y = accumulate ? d.y + g.y : g.y;
            if (igc_passes(act, o.z)) d.z = accumulate ? d.z + g.z : g.z;
            if (igc_passes(act, o.w)) d.w = accumulate ? d.w + g.w : g.w;
            reinterpret_cast<float4*>(dx)[q] = d;
        },
        [&](unsigned i) {
            if (igc_passes(act, y[i])) igc_write_grad(dx + i, dy[i], accumulate);
            else if (!accumulate) dx[i] = 0.0f;
        });
}

extern "C" __global__ void __launch_bounds__(IGC_THREADS) elementwise_fill(unsigned int* p, int n, unsigned int bits)
{
    ew_for_each(
        n, igc_aligned16(p), [&](unsigned q) { reinterpret_cast<uint4*>(p)[q] = make_uint4(bits, bits, bits, bits); },
        [&](unsigned i) { p[i] = bits; });
}
