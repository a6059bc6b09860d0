// common.cuh — the few helpers every Igcv3 kernel shares, included as #include "common.cuh".
//
// Compiled by NVRTC at run time (Igcv3.Kernels/Compilation/KernelCompiler.cs): no host headers
// and no standard library, so only CUDA built-ins (fminf, fmaxf, ...) are used here. Kept
// deliberately small: index helpers and the activation everyone needs. An op family's own
// helpers belong in its own .cu (or its own .cuh if two families share them).
#pragma once

// Index of this thread in a 1-D launch. 64-bit, so tensors past 2^31 elements index correctly.
__device__ __forceinline__ long long global_index_1d() {
    return (long long)blockIdx.x * blockDim.x + threadIdx.x;
}

// Number of threads in a 1-D launch: the step of a grid-stride loop, which lets any grid size
// cover any n (for (i = global_index_1d(); i < n; i += grid_stride_1d())).
__device__ __forceinline__ long long grid_stride_1d() {
    return (long long)gridDim.x * blockDim.x;
}

// ReLU6: min(max(x, 0), 6), the activation of MobileNetV2 and IGCV3 blocks.
__device__ __forceinline__ float relu6f(float x) {
    return fminf(fmaxf(x, 0.0f), 6.0f);
}
