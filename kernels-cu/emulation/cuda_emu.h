// Host emulation of the CUDA subset the Igcv3 kernels use: one std::thread per CUDA thread,
// blocks run one after another, __syncthreads = std::barrier, warp shuffles through a buffer.
#pragma once
#include <barrier>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>
#include <memory>
#include <algorithm>
#include <cstdint>
using std::min; using std::max;
struct dim3 { unsigned x = 1, y = 1, z = 1; };
inline thread_local dim3 threadIdx, blockIdx;
inline dim3 gridDim, blockDim;
#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(x)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))
#define __restrict__ __restrict
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(16) uint4 { unsigned x, y, z, w; };
inline float4 make_float4(float a, float b, float c, float d) { return {a, b, c, d}; }
inline uint4 make_uint4(unsigned a, unsigned b, unsigned c, unsigned d) { return {a, b, c, d}; }
template <class T> inline T __ldg(const T* p) { return *p; }
inline float __int_as_float(unsigned i) { float f; std::memcpy(&f, &i, 4); return f; }
inline std::barrier<>* g_block_barrier;
inline std::vector<std::unique_ptr<std::barrier<>>> g_warp_barriers;
inline double g_warp_buf[64][32];
inline void __syncthreads() { g_block_barrier->arrive_and_wait(); }
template <class T> inline T __shfl_xor_sync(unsigned, T v, int o)
{
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    g_warp_buf[warp][lane] = (double)v;
    g_warp_barriers[warp]->arrive_and_wait();
    T r = (T)g_warp_buf[warp][lane ^ o];
    g_warp_barriers[warp]->arrive_and_wait();
    return r;
}
template <class... A, class... B>
void launch(void (*kernel)(A...), dim3 grid, unsigned block, B... args)
{
    gridDim = grid; blockDim = {block, 1, 1};
    for (unsigned z = 0; z < grid.z; z++)
        for (unsigned y = 0; y < grid.y; y++)
            for (unsigned x = 0; x < grid.x; x++)
            {
                std::barrier<> bar(block);
                g_block_barrier = &bar;
                g_warp_barriers.clear();
                for (unsigned w = 0; w < block / 32; w++) g_warp_barriers.emplace_back(new std::barrier<>(32));
                std::vector<std::thread> ts;
                for (unsigned t = 0; t < block; t++)
                    ts.emplace_back([&, t] { threadIdx = {t, 0, 0}; blockIdx = {x, y, z}; kernel(args...); });
                for (auto& th : ts) th.join();
            }
}
