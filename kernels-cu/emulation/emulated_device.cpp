// The emulated CUDA device: every kernel of kernels-cu, compiled unchanged by g++ against
// cuda_emu.h into a shared library that Igcv3.Kernels' EmulatedQueue loads and drives through the
// C functions at the bottom of this file. The C# side builds it (EmulatedDeviceLibrary.cs): one
// translation unit that includes cuda_emu.h, every kernels-cu unit, then this file with
// IGC_EMU_KERNEL_LIST naming the list of extern "C" kernels it read from the preprocessed units.
//
// Device memory is host memory in guarded allocations: each lies at the end of its own pages with
// an inaccessible page after it (and one before), so a kernel that reads or writes past the end
// faults; the fault is caught on the worker, and the launch fails naming the kernel, the block, the
// thread and the allocation the address lies next to. The few bytes between an allocation's end
// and the next 16-byte boundary (16-byte alignment is what the float4 paths need), and the bytes
// before its start, hold a canary pattern that is checked after every launch on the allocations
// its pointer arguments lie in: a stray write there fails the launch too.
#include "cuda_emu.h"
#include <deque>
#include <map>
#include <type_traits>

namespace {

// ---- guarded memory -------------------------------------------------------------------------

constexpr unsigned char kCanary = 0xCD;
constexpr size_t kHeadCanaryChecked = 256; // bytes before an allocation checked after each launch

struct Allocation
{
    char* region;      // the mapping: guard page, data pages, guard page
    size_t regionBytes;
    char* data;
    size_t bytes;
    size_t tail;       // canary bytes after data, up to the 16-byte boundary
};

std::mutex g_memoryMutex;
std::map<uintptr_t, Allocation> g_allocations; // by data address
// Freed allocations stay mapped but inaccessible for a while (as AddressSanitizer's quarantine),
// so that no later allocation takes their addresses: a kernel still using a freed tensor faults
// instead of silently reading whatever tensor came next, as it would on a GPU.
std::map<uintptr_t, Allocation> g_quarantine;
std::deque<uintptr_t> g_quarantineOrder;
size_t g_quarantineBytes = 0;
constexpr size_t kQuarantineLimit = (size_t)1 << 30; // address space only: the pages are released
size_t g_page = 4096;

const Allocation* find_locked(uintptr_t address)
{
    auto it = g_allocations.upper_bound(address);
    if (it == g_allocations.begin()) return nullptr;
    --it;
    const Allocation& a = it->second;
    return address < (uintptr_t)a.data + a.bytes ? &a : nullptr;
}

/// "0x… lies 4 bytes past the end of the allocation 0x… of 4000 bytes" or the nearest one.
std::string describe_address(uintptr_t address)
{
    std::lock_guard lock(g_memoryMutex);
    char text[256];
    if (const Allocation* a = find_locked(address))
    {
        std::snprintf(text, sizeof text, "0x%lx lies inside the allocation 0x%lx of %zu bytes", (unsigned long)address, (unsigned long)a->data, a->bytes);
        return text;
    }
    auto freed = g_quarantine.upper_bound(address);
    if (freed != g_quarantine.begin())
    {
        const Allocation& f = std::prev(freed)->second;
        if (address >= (uintptr_t)f.region && address < (uintptr_t)f.region + f.regionBytes)
        {
            std::snprintf(text, sizeof text, "0x%lx lies in the allocation 0x%lx of %zu bytes, which was freed (a use after free: a tensor released while a kernel still needed it)",
                          (unsigned long)address, (unsigned long)f.data, f.bytes);
            return text;
        }
    }
    const Allocation* before = nullptr;
    const Allocation* after = nullptr;
    auto it = g_allocations.upper_bound(address);
    if (it != g_allocations.end()) after = &it->second;
    if (it != g_allocations.begin()) before = &std::prev(it)->second;
    uintptr_t pastEnd = before ? address - ((uintptr_t)before->data + before->bytes) : UINTPTR_MAX;
    uintptr_t beforeStart = after ? (uintptr_t)after->data - address : UINTPTR_MAX;
    if (before && pastEnd <= beforeStart)
        std::snprintf(text, sizeof text, "0x%lx lies %lu bytes past the end of the allocation 0x%lx of %zu bytes", (unsigned long)address, (unsigned long)pastEnd, (unsigned long)before->data, before->bytes);
    else if (after)
        std::snprintf(text, sizeof text, "0x%lx lies %lu bytes before the start of the allocation 0x%lx of %zu bytes", (unsigned long)address, (unsigned long)beforeStart, (unsigned long)after->data, after->bytes);
    else
        std::snprintf(text, sizeof text, "0x%lx is in no allocation", (unsigned long)address);
    return text;
}

/// The canaries of the allocation holding address: "" when intact, else which bytes a kernel
/// overwrote (then restored, so the next launch is judged on its own).
std::string check_canaries(uintptr_t address)
{
    std::lock_guard lock(g_memoryMutex);
    const Allocation* a = find_locked(address);
    if (a == nullptr) return "";
    char text[256];
    size_t first = SIZE_MAX, last = 0;
    for (size_t i = 0; i < a->tail; i++)
    {
        if ((unsigned char)a->data[a->bytes + i] == kCanary) continue;
        first = std::min(first, i);
        last = i;
        a->data[a->bytes + i] = (char)kCanary;
    }
    if (first != SIZE_MAX)
    {
        std::snprintf(text, sizeof text, "wrote past the end of the allocation 0x%lx of %zu bytes (bytes %zu to %zu after it)", (unsigned long)a->data, a->bytes, first, last);
        return text;
    }
    size_t head = std::min(kHeadCanaryChecked, (size_t)(a->data - (a->region + g_page)));
    for (size_t i = 1; i <= head; i++)
    {
        if ((unsigned char)a->data[-(ptrdiff_t)i] == kCanary) continue;
        first = std::min(first, i);
        last = std::max(last, i);
        a->data[-(ptrdiff_t)i] = (char)kCanary;
    }
    if (first != SIZE_MAX)
    {
        std::snprintf(text, sizeof text, "wrote before the start of the allocation 0x%lx of %zu bytes (bytes %zu to %zu before it)", (unsigned long)a->data, a->bytes, last, first);
        return text;
    }
    return "";
}

// ---- faults inside kernels --------------------------------------------------------------------

struct sigaction g_previousSegv, g_previousBus;

void chain(int signal, siginfo_t* info, void* context)
{
    struct sigaction& previous = signal == SIGSEGV ? g_previousSegv : g_previousBus;
    if (previous.sa_flags & SA_SIGINFO)
    {
        previous.sa_sigaction(signal, info, context);
        return;
    }
    if (previous.sa_handler == SIG_IGN) return;
    if (previous.sa_handler == SIG_DFL)
    {
        ::signal(signal, SIG_DFL);
        raise(signal);
        return;
    }
    previous.sa_handler(signal);
}

void on_fault(int signal, siginfo_t* info, void* context)
{
    igc_emu::Block* b = igc_emu::t_block;
    if (b == nullptr || !b->faultArmed)
    {
        chain(signal, info, context); // not a kernel's: the runtime's own handler (.NET's) decides
        return;
    }
    b->faultAddress = info->si_addr;
    b->faultSignal = signal;
    siglongjmp(b->faultJump, 1);
}

void install_fault_handler()
{
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction action{};
        action.sa_sigaction = on_fault;
        action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
        sigemptyset(&action.sa_mask);
        sigaction(SIGSEGV, &action, &g_previousSegv);
        sigaction(SIGBUS, &action, &g_previousBus);
    });
}

// ---- the kernels and their argument kinds -------------------------------------------------------

template <class T> constexpr char kind_of()
{
    if constexpr (std::is_pointer_v<T>) return 'P';
    else if constexpr (std::is_same_v<T, float>) return 'F';
    else if constexpr (std::is_integral_v<T> && sizeof(T) == 4) return 'I';
    else if constexpr (std::is_integral_v<T> && sizeof(T) == 8) return 'L';
    else static_assert(sizeof(T) == 0, "a kernel parameter of a kind the emulated device does not pass");
}

template <class T> T from_slot(uint64_t bits)
{
    if constexpr (std::is_pointer_v<T>) return reinterpret_cast<T>(bits);
    else if constexpr (std::is_same_v<T, float>)
    {
        uint32_t low = (uint32_t)bits;
        float f;
        std::memcpy(&f, &low, 4);
        return f;
    }
    else if constexpr (sizeof(T) == 4) return (T)(uint32_t)bits;
    else return (T)bits;
}

struct Kernel
{
    const char* name;
    std::string kinds;
    void (*invoke)(void (*)(), const uint64_t*);
    void (*function)();
};

template <class... A, size_t... I>
void call(void (*kernel)(A...), const uint64_t* slots, std::index_sequence<I...>)
{
    kernel(from_slot<A>(slots[I])...);
}

template <class... A>
Kernel make_kernel(const char* name, void (*kernel)(A...))
{
    return {name, std::string{kind_of<A>()...},
            [](void (*f)(), const uint64_t* slots) { call(reinterpret_cast<void (*)(A...)>(f), slots, std::index_sequence_for<A...>{}); },
            reinterpret_cast<void (*)()>(kernel)};
}

const std::vector<Kernel>& kernels()
{
#define IGC_EMU_KERNEL(name) make_kernel(#name, &name),
    static const std::vector<Kernel> all{
#include IGC_EMU_KERNEL_LIST
    };
#undef IGC_EMU_KERNEL
    return all;
}

void copy_message(const std::string& text, char* message, int capacity)
{
    if (capacity <= 0) return;
    size_t n = std::min(text.size(), (size_t)capacity - 1);
    std::memcpy(message, text.data(), n);
    message[n] = 0;
}

} // namespace

extern "C" {

int igc_emu_kernel_count() { return (int)kernels().size(); }

const char* igc_emu_kernel_name(int i) { return kernels()[i].name; }

/// One letter per parameter: P pointer, I 32-bit integer, F float, L 64-bit integer.
const char* igc_emu_kernel_kinds(int i) { return kernels()[i].kinds.c_str(); }

/// Bytes of guarded device memory (uninitialised, as cuMemAlloc's), 16-byte aligned; 0 when the
/// host has no memory for it.
uint64_t igc_emu_alloc(uint64_t bytes)
{
    std::lock_guard lock(g_memoryMutex);
    g_page = (size_t)sysconf(_SC_PAGESIZE);
    size_t rounded = (bytes + 15) / 16 * 16;
    size_t dataPages = (rounded + g_page - 1) / g_page;
    size_t regionBytes = (dataPages + 2) * g_page;
    void* mapped = mmap(nullptr, regionBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mapped == MAP_FAILED) return 0;
    char* region = (char*)mapped;
    mprotect(region, g_page, PROT_NONE);
    mprotect(region + (dataPages + 1) * g_page, g_page, PROT_NONE);
    char* data = region + (dataPages + 1) * g_page - rounded;
    std::memset(region + g_page, kCanary, dataPages * g_page);
    g_allocations[(uintptr_t)data] = {region, regionBytes, data, bytes, rounded - bytes};
    return (uint64_t)(uintptr_t)data;
}

/// 1 when address is an allocation's start, and frees it; else 0.
int igc_emu_free(uint64_t address)
{
    std::lock_guard lock(g_memoryMutex);
    auto it = g_allocations.find((uintptr_t)address);
    if (it == g_allocations.end()) return 0;
    Allocation a = it->second;
    g_allocations.erase(it);
    // Inaccessible, its pages given back to the system, its addresses kept out of reuse.
    mprotect(a.region, a.regionBytes, PROT_NONE);
    madvise(a.region, a.regionBytes, MADV_DONTNEED);
    g_quarantine[(uintptr_t)a.data] = a;
    g_quarantineOrder.push_back((uintptr_t)a.data);
    g_quarantineBytes += a.regionBytes;
    while (g_quarantineBytes > kQuarantineLimit)
    {
        auto oldest = g_quarantine.find(g_quarantineOrder.front());
        g_quarantineOrder.pop_front();
        g_quarantineBytes -= oldest->second.regionBytes;
        munmap(oldest->second.region, oldest->second.regionBytes);
        g_quarantine.erase(oldest);
    }
    return 1;
}

/// The bytes from address to the end of the allocation it lies in, or -1 when it lies in none.
int64_t igc_emu_bytes_from(uint64_t address)
{
    std::lock_guard lock(g_memoryMutex);
    const Allocation* a = find_locked((uintptr_t)address);
    return a ? (int64_t)((uintptr_t)a->data + a->bytes - (uintptr_t)address) : -1;
}

/// Runs kernel i over the grid with blocks of block threads, the arguments in 8-byte slots as
/// cuLaunchKernel reads them. 0 when every thread finished and no canary changed; else 1 with the
/// reason in message.
int igc_emu_launch(int i, unsigned gridX, unsigned gridY, unsigned gridZ, unsigned block, const uint64_t* slots, int count, char* message, int capacity)
{
    const auto& all = kernels();
    if (i < 0 || i >= (int)all.size()) { copy_message("no kernel " + std::to_string(i), message, capacity); return 1; }
    const Kernel& k = all[i];
    if (count != (int)k.kinds.size())
    {
        copy_message(std::string(k.name) + " takes " + std::to_string(k.kinds.size()) + " arguments, got " + std::to_string(count), message, capacity);
        return 1;
    }
    if (block == 0 || block > igc_emu::kMaxThreads) { copy_message("block of " + std::to_string(block) + " threads", message, capacity); return 1; }
    install_fault_handler();
    static std::mutex launchMutex; // one grid at a time: the worker pool runs one launch
    std::lock_guard serial(launchMutex);
    igc_emu::Launch launch{dim3{gridX, gridY, gridZ}, block, [&] { k.invoke(k.function, slots); }};
    std::function<std::string(void*, int)> describe = [](void* address, int signal) {
        return std::string(signal == SIGBUS ? "bus error" : "illegal address") + ": " + describe_address((uintptr_t)address);
    };
    std::string error = igc_emu::Pool::instance().run(launch, true, describe);
    for (int a = 0; a < count && error.empty(); a++)
    {
        if (k.kinds[a] == 'P' && slots[a] != 0) error = check_canaries((uintptr_t)slots[a]);
    }
    if (error.empty()) return 0;
    copy_message(error, message, capacity);
    return 1;
}

} // extern "C"
