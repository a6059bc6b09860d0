// smoke.cu — the smallest real kernels: they prove the compile path (NVRTC, headers, the ptxas
// report, the disk cache) and, on a GPU, the load-and-launch path end to end. Not used by ops.
// n is 64-bit here (unlike the op kernels) so that the driver's argument packing of a long is
// exercised too.

#include "igc_common.cuh"

// fill_f32: y[i] = value for every i < n.
// y [n]
extern "C" __global__ void fill_f32(float* __restrict__ y, float value, long long n) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        y[i] = value;
    }
}

// relu6_f32: y[i] = min(max(x[i], 0), 6) for every i < n.
// x [n], y [n]
extern "C" __global__ void relu6_f32(const float* __restrict__ x, float* __restrict__ y, long long n) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        y[i] = igc_activate(2, x[i]);
    }
}
