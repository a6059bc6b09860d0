// Host emulation of the CUDA subset the Igcv3 kernels use, so that kernels-cu compiles unchanged
// with g++ and runs on a CPU: kernel_checks.cpp (the kernel checks) and emulated_device.cpp (the
// emulated device the C# tests drive) both include it.
//
// How a launch runs: the grid's blocks are shared out among a few worker threads; each worker runs
// one block at a time as blockDim.x fibers (one per CUDA thread, each on its own stack), switching
// only where CUDA threads synchronise: __syncthreads waits until every thread of the block arrived,
// a warp collective (a shuffle, or the bf16 tensor-core product igc_mma_bf16_m16n8k16) until its 32
// lanes did. A barrier that not every thread reaches, or a warp collective with lanes missing (or
// lanes at different collectives), is reported as an error instead of hanging. __shared__ arrays are per worker
// (static thread_local), so concurrent blocks do not share them.
//
// Under the sanitizers (g++ -fsanitize=thread / address) the fibers are announced to them: to
// ThreadSanitizer each CUDA thread is a thread of its own whose only happens-before edges are the
// ones CUDA gives (the barrier, the shuffle, the launch), so shared-memory accesses that a missing
// __syncthreads leaves unordered are reported as data races; to AddressSanitizer each fiber stack
// is a stack.
#pragma once
#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <csetjmp>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define IGC_EMU_TSAN 1
#endif
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define IGC_EMU_ASAN 1
#endif

using std::max;
using std::min;

// ---- the CUDA language subset -------------------------------------------------------------

struct dim3 { unsigned x = 1, y = 1, z = 1; };
// Per worker thread; the scheduler sets threadIdx before it resumes each fiber.
inline thread_local dim3 threadIdx, blockIdx, gridDim, blockDim;
#ifndef __global__ // the emulated device's build defines it as a marker to list the kernels
#define __global__
#endif
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(x)
#ifdef IGC_EMU_TSAN
// ThreadSanitizer does not check thread-local variables: shared memory is one static array, and
// the grid runs on one worker (Pool::worker_count).
#define __shared__ static
#else
#define __shared__ static thread_local
#endif
#define __align__(n) __attribute__((aligned(n)))
#define __restrict__ __restrict
struct alignas(8) float2 { float x, y; };
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(16) uint4 { unsigned x, y, z, w; };
inline float2 make_float2(float a, float b) { return {a, b}; }
inline float4 make_float4(float a, float b, float c, float d) { return {a, b, c, d}; }
inline uint4 make_uint4(unsigned a, unsigned b, unsigned c, unsigned d) { return {a, b, c, d}; }
template <class T> inline T __ldg(const T* p) { return *p; }
// Blocks run on several worker threads at once: the device-wide fence and atomics are the host's.
template <class T> inline T __ldcg(const T* p) { return std::atomic_ref<T>(*const_cast<T*>(p)).load(std::memory_order_acquire); }
#ifdef IGC_EMU_TSAN
// ThreadSanitizer does not model fences (-Wtsan); the atomics below, which it does see, already
// order a block's writes (its fibers share one OS thread) before its ticket.
inline void __threadfence() {}
#else
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
#endif
/// CUDA's atomicInc: old = *p; *p = old >= limit ? 0 : old + 1; returns old.
inline unsigned atomicInc(unsigned* p, unsigned limit)
{
    std::atomic_ref<unsigned> a(*p);
    unsigned old = a.load(std::memory_order_relaxed);
    while (!a.compare_exchange_weak(old, old >= limit ? 0u : old + 1u, std::memory_order_acq_rel, std::memory_order_relaxed)) {}
    return old;
}
inline float __int_as_float(unsigned i) { float f; std::memcpy(&f, &i, 4); return f; }
inline float __uint_as_float(unsigned i) { return __int_as_float(i); }
inline unsigned __float_as_uint(float f) { unsigned i; std::memcpy(&i, &f, 4); return i; }

// The runtime's own bookkeeping is shared by the fibers of a block, which ThreadSanitizer sees as
// threads: it is left uninstrumented, and the synchronisation CUDA promises is announced explicitly.
#define IGC_EMU_RUNTIME __attribute__((noinline, no_sanitize("thread")))

namespace igc_emu {

// Saves the callee-saved registers, the SSE and x87 control words and the stack pointer in *save,
// then continues from the context at load (System V x86-64).
extern "C" void igc_emu_switch(void** save, void* load);
asm(R"(
    .text
    .globl igc_emu_switch
    .hidden igc_emu_switch
    .type igc_emu_switch, @function
igc_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size igc_emu_switch, .-igc_emu_switch
)");

enum class Wait : unsigned char { Ready, Barrier, Shuffle, Mma, Done };

constexpr size_t kStackBytes = 256 * 1024; // sanitizer builds need the room
constexpr unsigned kMaxThreads = 1024;

struct Fiber
{
    void* sp = nullptr;
    char* stack = nullptr; // lowest usable byte; a PROT_NONE page lies below it
    Wait wait = Wait::Ready;
    unsigned barriers = 0, shuffles = 0; // passed in this block (shuffles: every warp collective): they pick the sanitizer token
    int shuffleOffset = 0;
    uint64_t shuffleValue = 0, shuffleResult = 0;
    unsigned mmaA[4] = {}, mmaB[2] = {}; // this lane's fragments of an mma (igc_mma_bf16_m16n8k16)
    float mmaD[4] = {};                  // its accumulator fragment: C in, D out
    void* tsan = nullptr;
    void* asanFake = nullptr;
};

/// One worker thread's block: its fibers (kept from block to block), the scheduler's context and
/// the fault landing point of a guarded launch.
struct Block
{
    Fiber fibers[kMaxThreads];
    unsigned threads = 0;
    Fiber* current = nullptr;
    void* schedulerSp = nullptr;
    const std::function<void()>* body = nullptr;
    void* tsanScheduler = nullptr;
    const void* asanSchedulerBottom = nullptr;
    size_t asanSchedulerSize = 0;
    // ThreadSanitizer's view of __syncthreads and of a shuffle: each thread releases the token on
    // arrival and acquires it once all have arrived. Two tokens, alternating: a thread that
    // arrives at the next barrier must not release into the token that a slower thread is yet to
    // acquire from the previous one (that would order what lies between, which CUDA does not).
    char barrierTokens[2] = {}, warpTokens[kMaxThreads / 32][2] = {};
    // The edges around a block: before it, the worker acquires the end token (what earlier
    // blocks did) and releases the start token, which every thread acquires on starting; every
    // thread releases the end token on finishing. So the threads of one block are ordered only
    // through barriers and shuffles, never through the worker that runs them. Blocks one after
    // another are ordered (they reuse the one static copy of each __shared__ array), so races
    // between blocks are not looked for.
    char startToken = 0, endToken = 0;
    // Guarded launches: a fault inside a kernel jumps back here.
    sigjmp_buf faultJump;
    bool faultArmed = false;
    void* faultAddress = nullptr;
    int faultSignal = 0;
};

inline thread_local Block* t_block = nullptr;

IGC_EMU_RUNTIME inline void switch_to_scheduler(Fiber& f, bool final)
{
    Block& b = *t_block;
#ifdef IGC_EMU_TSAN
    if (final) __tsan_release(&b.endToken);
    __tsan_switch_to_fiber(b.tsanScheduler, __tsan_switch_to_fiber_no_sync);
#endif
#ifdef IGC_EMU_ASAN
    __sanitizer_start_switch_fiber(final ? nullptr : &f.asanFake, b.asanSchedulerBottom, b.asanSchedulerSize);
#endif
    igc_emu_switch(&f.sp, b.schedulerSp);
#ifdef IGC_EMU_ASAN
    __sanitizer_finish_switch_fiber(f.asanFake, nullptr, nullptr);
#endif
}

[[noreturn]] IGC_EMU_RUNTIME inline void fiber_entry()
{
    Block& b = *t_block;
#ifdef IGC_EMU_ASAN
    __sanitizer_finish_switch_fiber(nullptr, &b.asanSchedulerBottom, &b.asanSchedulerSize);
#endif
#ifdef IGC_EMU_TSAN
    __tsan_acquire(&b.startToken);
#endif
    (*b.body)();
    b.current->wait = Wait::Done;
    switch_to_scheduler(*b.current, true);
    __builtin_trap(); // a finished fiber is never resumed: the next block starts it afresh
}

/// A fresh context for fiber f: fiber_entry on an empty stack (see igc_emu_switch for the layout).
IGC_EMU_RUNTIME inline void prepare(Fiber& f)
{
    if (f.stack == nullptr)
    {
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        void* region = mmap(nullptr, kStackBytes + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (region == MAP_FAILED) { perror("igc_emu: fiber stack"); std::abort(); }
        mprotect(region, page, PROT_NONE); // a stack overflow faults instead of corrupting the next stack
        f.stack = (char*)region + page;
#ifdef IGC_EMU_TSAN
        f.tsan = __tsan_create_fiber(0); // kept for every block: blocks are ordered anyway (Block)
#endif
    }
    uintptr_t top = ((uintptr_t)(f.stack + kStackBytes)) & ~(uintptr_t)15;
    uint64_t* sp = (uint64_t*)(top - 72); // after the 6 pops and ret, rsp = top - 8: 8 mod 16, as after a call
    uint32_t mxcsr = 0x1F80, fpucw = 0x037F;
    std::memcpy(sp, &mxcsr, 4);
    std::memcpy((char*)sp + 4, &fpucw, 4);
    for (int i = 1; i <= 6; i++) sp[i] = 0;
    sp[7] = (uint64_t)(uintptr_t)&fiber_entry;
    sp[8] = 0; // fiber_entry's return address: it never returns
    f.sp = sp;
    f.wait = Wait::Ready;
    f.barriers = f.shuffles = 0;
}

IGC_EMU_RUNTIME inline void resume(Block& b, unsigned t)
{
    Fiber& f = b.fibers[t];
    threadIdx = {t, 0, 0};
    b.current = &f;
#ifdef IGC_EMU_TSAN
    __tsan_switch_to_fiber(f.tsan, __tsan_switch_to_fiber_no_sync);
#endif
#ifdef IGC_EMU_ASAN
    void* fake = nullptr;
    __sanitizer_start_switch_fiber(&fake, f.stack, kStackBytes);
#endif
    igc_emu_switch(&b.schedulerSp, f.sp);
#ifdef IGC_EMU_ASAN
    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
}

inline std::string block_name()
{
    return "block (" + std::to_string(blockIdx.x) + "," + std::to_string(blockIdx.y) + "," + std::to_string(blockIdx.z) + ")";
}

inline float bf16_low(unsigned pair) { return __uint_as_float(pair << 16); }
inline float bf16_high(unsigned pair) { return __uint_as_float(pair & 0xffff0000u); }

/// mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 for the warp whose 32 lanes start at `lanes`, all
/// waiting at it: each lane's fragments are placed in A (16x16), B (16x8) and C (16x8) by the PTX
/// ISA layout (the one igc_common.cuh documents beside the device version), D = C + A·B is formed,
/// and each lane gets its fragment of D. A bf16 product is exact in fp32 (8 + 8 significant bits);
/// the sums are fp32, in k order, C first. (The hardware's order and internal width are not
/// specified; the kernels' tests allow fp32 accumulation error.)
IGC_EMU_RUNTIME inline void mma_bf16_m16n8k16(Fiber* lanes)
{
    float A[16][16], B[16][8], D[16][8];
    for (int l = 0; l < 32; l++)
    {
        const Fiber& f = lanes[l];
        int g = l / 4, t = l % 4;
        for (int h = 0; h < 2; h++) // h = 1: the registers of columns (A) or rows (B) + 8
        {
            A[g][2 * t + 8 * h] = bf16_low(f.mmaA[2 * h]);
            A[g][2 * t + 1 + 8 * h] = bf16_high(f.mmaA[2 * h]);
            A[g + 8][2 * t + 8 * h] = bf16_low(f.mmaA[2 * h + 1]);
            A[g + 8][2 * t + 1 + 8 * h] = bf16_high(f.mmaA[2 * h + 1]);
            B[2 * t + 8 * h][g] = bf16_low(f.mmaB[h]);
            B[2 * t + 1 + 8 * h][g] = bf16_high(f.mmaB[h]);
        }
        D[g][2 * t] = f.mmaD[0];
        D[g][2 * t + 1] = f.mmaD[1];
        D[g + 8][2 * t] = f.mmaD[2];
        D[g + 8][2 * t + 1] = f.mmaD[3];
    }
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 8; j++)
        {
            float s = D[i][j];
            for (int k = 0; k < 16; k++) s += A[i][k] * B[k][j];
            D[i][j] = s;
        }
    for (int l = 0; l < 32; l++)
    {
        Fiber& f = lanes[l];
        int g = l / 4, t = l % 4;
        f.mmaD[0] = D[g][2 * t];
        f.mmaD[1] = D[g][2 * t + 1];
        f.mmaD[2] = D[g + 8][2 * t];
        f.mmaD[3] = D[g + 8][2 * t + 1];
    }
}

/// Runs every thread of the current block to its end. False, with the reason, where the threads
/// cannot all finish: a barrier or shuffle that not all of them reach.
IGC_EMU_RUNTIME inline bool run_block(Block& b, std::string& error)
{
    unsigned n = b.threads;
    for (unsigned t = 0; t < n; t++) prepare(b.fibers[t]);
    for (;;)
    {
        for (unsigned t = 0; t < n; t++)
            if (b.fibers[t].wait == Wait::Ready) resume(b, t);
        unsigned atBarrier = 0, done = 0, atShuffle = 0, atMma = 0;
        for (unsigned t = 0; t < n; t++)
        {
            Wait w = b.fibers[t].wait;
            atBarrier += w == Wait::Barrier;
            done += w == Wait::Done;
            atShuffle += w == Wait::Shuffle;
            atMma += w == Wait::Mma;
        }
        if (done == n) return true;
        if (atBarrier + done == n)
        {
            if (done > 0)
            {
                error = block_name() + ": " + std::to_string(done) + " threads returned while " + std::to_string(atBarrier) +
                        " wait at __syncthreads (a barrier that not every thread of the block reaches is undefined on a GPU)";
                return false;
            }
            for (unsigned t = 0; t < n; t++) b.fibers[t].wait = Wait::Ready;
            continue;
        }
        bool progressed = false;
        for (unsigned w0 = 0; w0 < n; w0 += 32)
        {
            unsigned lanes = std::min(32u, n - w0), shuffling = 0, multiplying = 0;
            for (unsigned l = 0; l < lanes; l++)
            {
                shuffling += b.fibers[w0 + l].wait == Wait::Shuffle;
                multiplying += b.fibers[w0 + l].wait == Wait::Mma;
            }
            if (multiplying == lanes)
            {
                if (lanes != 32)
                {
                    error = block_name() + ": threads " + std::to_string(w0) + ".." + std::to_string(n - 1) + " run an mma in a warp of " +
                            std::to_string(lanes) + " lanes (mma.sync needs all 32 lanes of a warp)";
                    return false;
                }
                mma_bf16_m16n8k16(&b.fibers[w0]);
                for (unsigned l = 0; l < lanes; l++) b.fibers[w0 + l].wait = Wait::Ready;
                progressed = true;
                continue;
            }
            if (shuffling == 0 || shuffling < lanes) continue;
            for (unsigned l = 0; l < lanes; l++)
            {
                Fiber& f = b.fibers[w0 + l];
                unsigned src = l ^ (unsigned)f.shuffleOffset;
                if (src >= lanes)
                {
                    error = block_name() + ": thread " + std::to_string(w0 + l) + " shuffles with lane " + std::to_string(src) + ", outside its warp";
                    return false;
                }
                f.shuffleResult = b.fibers[w0 + src].shuffleValue;
            }
            for (unsigned l = 0; l < lanes; l++) b.fibers[w0 + l].wait = Wait::Ready;
            progressed = true;
        }
        if (!progressed)
        {
            error = block_name() + ": threads cannot go on: " + std::to_string(atBarrier) + " wait at __syncthreads, " + std::to_string(atShuffle) +
                    " at a warp shuffle and " + std::to_string(atMma) + " at an mma whose warp is not all there (or not all at the same collective), " +
                    std::to_string(done) + " returned";
            return false;
        }
    }
}

IGC_EMU_RUNTIME inline void barrier()
{
    Block& b = *t_block;
    Fiber& f = *b.current;
    char* token = &b.barrierTokens[f.barriers++ % 2];
#ifdef IGC_EMU_TSAN
    __tsan_release(token);
#endif
    f.wait = Wait::Barrier;
    switch_to_scheduler(f, false);
#ifdef IGC_EMU_TSAN
    __tsan_acquire(token);
#endif
    (void)token;
}

IGC_EMU_RUNTIME inline uint64_t shuffle_xor(unsigned mask, uint64_t value, int offset)
{
    Block& b = *t_block;
    Fiber& f = *b.current;
    if (mask != 0xffffffffu)
    {
        std::fprintf(stderr, "igc_emu: __shfl_xor_sync with mask 0x%x: only full warps are emulated\n", mask);
        std::abort();
    }
    char* token = &b.warpTokens[(unsigned)(&f - b.fibers) / 32][f.shuffles++ % 2];
#ifdef IGC_EMU_TSAN
    __tsan_release(token);
#endif
    f.shuffleValue = value;
    f.shuffleOffset = offset;
    f.wait = Wait::Shuffle;
    switch_to_scheduler(f, false);
#ifdef IGC_EMU_TSAN
    __tsan_acquire(token);
#endif
    (void)token;
    return f.shuffleResult;
}

/// One lane's part of igc_mma_bf16_m16n8k16: hands over its fragments, waits until the whole warp
/// has (the scheduler then forms the product), and takes its fragment of D.
IGC_EMU_RUNTIME inline void mma_lane(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2])
{
    Block& blk = *t_block;
    Fiber& f = *blk.current;
    char* token = &blk.warpTokens[(unsigned)(&f - blk.fibers) / 32][f.shuffles++ % 2];
#ifdef IGC_EMU_TSAN
    __tsan_release(token);
#endif
    for (int i = 0; i < 4; i++) f.mmaA[i] = a[i], f.mmaD[i] = d[i];
    f.mmaB[0] = b[0];
    f.mmaB[1] = b[1];
    f.wait = Wait::Mma;
    switch_to_scheduler(f, false);
#ifdef IGC_EMU_TSAN
    __tsan_acquire(token);
#endif
    (void)token;
    for (int i = 0; i < 4; i++) d[i] = f.mmaD[i];
}

// ---- the launch: a grid shared out among worker threads ------------------------------------

struct Launch
{
    dim3 grid;
    unsigned threads = 0;
    std::function<void()> body;
};

/// Worker threads, started once; each keeps its Block (fibers and stacks) for every launch.
class Pool
{
public:
    static Pool& instance()
    {
        static Pool* pool = new Pool(worker_count()); // never destroyed: its threads run until exit
        return *pool;
    }

    /// Runs every block of the launch; "" when all finished, else the first error (a block's, or
    /// the fault that <see cref="describe_fault"/> turned into words).
    std::string run(const Launch& launch, bool guarded, const std::function<std::string(void*, int)>& describe_fault)
    {
        std::unique_lock lock(_mutex);
        _launch = &launch;
        _guarded = guarded;
        _describeFault = &describe_fault;
        _next = 0;
        _total = (uint64_t)launch.grid.x * launch.grid.y * launch.grid.z;
        _failed = false;
        _error.clear();
        _busy = (unsigned)_workers.size();
        _generation++;
        _work.notify_all();
        _done.wait(lock, [&] { return _busy == 0; });
        _launch = nullptr;
        return _error;
    }

private:
    explicit Pool(unsigned workers)
    {
        for (unsigned i = 0; i < workers; i++) _workers.emplace_back([this] { work(); });
    }

    static unsigned worker_count()
    {
#ifdef IGC_EMU_TSAN
        return 1;
#endif
        if (const char* v = std::getenv("IGC_EMU_WORKERS")) return std::max(1, std::atoi(v));
        return std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
    }

    void work()
    {
        auto block = std::make_unique<Block>();
        t_block = block.get();
#ifdef IGC_EMU_TSAN
        block->tsanScheduler = __tsan_get_current_fiber();
#endif
        // The fault handler runs on its own stack: a fiber's may be the one that overflowed.
        stack_t alt{};
        alt.ss_size = 64 * 1024;
        alt.ss_sp = std::malloc(alt.ss_size);
        sigaltstack(&alt, nullptr);
        uint64_t seen = 0;
        for (;;)
        {
            const Launch* launch;
            bool guarded;
            {
                std::unique_lock lock(_mutex);
                _work.wait(lock, [&] { return _generation != seen; });
                seen = _generation;
                launch = _launch;
                guarded = _guarded;
            }
            block->threads = launch->threads;
            block->body = &launch->body;
            for (;;)
            {
                uint64_t i = _next.fetch_add(1);
                if (i >= _total || _failed.load()) break;
                place(*launch, i);
#ifdef IGC_EMU_TSAN
                __tsan_acquire(&block->endToken);
                __tsan_release(&block->startToken);
#endif
                std::string error;
                if (!run_guarded(*block, guarded, error)) fail(error);
            }
#ifdef IGC_EMU_TSAN
            __tsan_acquire(&block->endToken);
#endif
            std::lock_guard lock(_mutex);
            if (--_busy == 0) _done.notify_all();
        }
    }

    /// gridDim, blockDim and blockIdx of block i: written where ThreadSanitizer does not look, as
    /// the hardware provides them, so that the kernel's reads are not "racing" with the worker.
    IGC_EMU_RUNTIME static void place(const Launch& launch, uint64_t i)
    {
        gridDim = launch.grid;
        blockDim = {launch.threads, 1, 1};
        blockIdx = {(unsigned)(i % launch.grid.x), (unsigned)(i / launch.grid.x % launch.grid.y),
                    (unsigned)(i / ((uint64_t)launch.grid.x * launch.grid.y))};
    }

    bool run_guarded(Block& b, bool guarded, std::string& error)
    {
        if (!guarded) return run_block(b, error);
        if (sigsetjmp(b.faultJump, 1) != 0)
        {
            b.faultArmed = false;
            error = block_name() + " thread " + std::to_string(threadIdx.x) + ": " + (*_describeFault)(b.faultAddress, b.faultSignal);
            return false;
        }
        b.faultArmed = true;
        bool ok = run_block(b, error);
        b.faultArmed = false;
        return ok;
    }

    void fail(const std::string& error)
    {
        std::lock_guard lock(_mutex);
        if (!_failed.exchange(true)) _error = error;
    }

    std::vector<std::thread> _workers;
    std::mutex _mutex;
    std::condition_variable _work, _done;
    const Launch* _launch = nullptr;
    bool _guarded = false;
    const std::function<std::string(void*, int)>* _describeFault = nullptr;
    uint64_t _generation = 0, _total = 0;
    std::atomic<uint64_t> _next{0};
    std::atomic<bool> _failed{false};
    std::string _error;
    unsigned _busy = 0;
};

} // namespace igc_emu

inline void __syncthreads() { igc_emu::barrier(); }

template <class T> inline T __shfl_xor_sync(unsigned mask, T v, int offset)
{
    static_assert(sizeof(T) <= 8, "shuffles move at most 8 bytes");
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    uint64_t r = igc_emu::shuffle_xor(mask, bits, offset);
    T out;
    std::memcpy(&out, &r, sizeof(T));
    return out;
}

/// The emulation of igc_common.cuh's igc_mma_bf16_m16n8k16 (its device version is inline PTX): a
/// warp collective, so a warp whose 32 lanes do not all reach it fails the launch.
inline void igc_mma_bf16_m16n8k16(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) { igc_emu::mma_lane(d, a, b); }

namespace igc_emu { inline int launch_failures = 0; }

/// kernel<<<grid, block>>>(args...), run to completion; a launch whose threads cannot all finish
/// is printed and counted in igc_emu::launch_failures.
template <class... A, class... B>
void launch(void (*kernel)(A...), dim3 grid, unsigned block, B... args)
{
    igc_emu::Launch l{grid, block, [&] { kernel(args...); }};
    std::string error = igc_emu::Pool::instance().run(l, false, {});
    if (error.empty()) return;
    igc_emu::launch_failures++;
    std::printf("LAUNCH FAILED: %s\n", error.c_str());
}
