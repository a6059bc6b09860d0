namespace Igcv3.Kernels.Cuda;

/// <summary>Device-memory statistics of a <see cref="CachingAllocator"/>, in bytes. "In use" counts
/// blocks handed out (rounded sizes, as PyTorch's allocated_bytes does); "reserved" counts everything
/// obtained from cuMemAlloc and not yet freed, cached blocks included.</summary>
public readonly record struct CudaMemoryStatistics(long BytesInUse, long PeakBytesInUse, long BytesReserved, long Allocations, long CacheHits, long DriverAllocations)
{
    public override string ToString() =>
        $"in use {BytesInUse / 1048576.0:F1} MiB (peak {PeakBytesInUse / 1048576.0:F1} MiB), reserved {BytesReserved / 1048576.0:F1} MiB, " +
        $"{Allocations} allocations, {CacheHits} from the cache, {DriverAllocations} from the driver";
}

/// <summary>
/// A caching device allocator in the manner of PyTorch's: a released block is not freed but goes on
/// a free list keyed by its rounded size, and the next request of that size takes it back, so a
/// training loop whose steps allocate the same shapes reaches a steady state with no cuMemAlloc (a
/// synchronising, slow call) at all. Reuse is safe without events because the backend has ONE
/// stream: work queued with the old owner precedes, on that stream, anything queued by the next.
/// <para>Sizes round up to 512 bytes below 1 MiB and to a quarter of their power of two above
/// (at most 25% slack), so that a handful of bins serve the shapes of a network. When cuMemAlloc
/// runs out of memory, the cache is emptied (after a stream synchronisation) and the request
/// retried once.</para>
/// <para>Releases may come from any thread, a finalizer's included: they only move bookkeeping
/// (under a lock) and never call the driver, so the finalizer thread never needs a context.</para>
/// </summary>
public sealed class CachingAllocator : IDisposable
{
    private const long SmallRounding = 512;
    private const long SmallLimit = 1 << 20;

    private readonly object _gate = new();
    private readonly Dictionary<long, Stack<ulong>> _free = [];  // rounded size → cached blocks
    private readonly Dictionary<ulong, long> _live = [];         // pointer → rounded size, handed out
    private readonly Func<long, ulong> _driverAlloc;
    private readonly Action<ulong> _driverFree;
    private readonly Action _synchronize;
    private readonly bool _caching;
    private long _inUse, _peak, _reserved, _allocations, _cacheHits, _driverAllocations;
    private bool _disposed;

    /// <param name="driverAlloc">cuMemAlloc (the context current); throws on failure.</param>
    /// <param name="driverFree">cuMemFree (the context current).</param>
    /// <param name="synchronize">waits for the stream, before cached blocks are really freed.</param>
    /// <param name="caching">false: every block has exactly the requested size and goes back to
    /// <paramref name="driverFree"/> as soon as it is released (PyTorch's
    /// PYTORCH_NO_CUDA_MEMORY_CACHING), so that the emulated device's guard pages sit right at
    /// each tensor's end. Only for a queue that finishes each call before returning, since a
    /// released block is freed at once, and whose free may be called from any thread.</param>
    internal CachingAllocator(Func<long, ulong> driverAlloc, Action<ulong> driverFree, Action synchronize, bool caching = true)
    {
        _driverAlloc = driverAlloc;
        _driverFree = driverFree;
        _synchronize = synchronize;
        _caching = caching;
    }

    /// <summary>The size class of a request: what a block for it really holds.</summary>
    public static long RoundedSize(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        if (bytes <= SmallLimit) return (bytes + SmallRounding - 1) / SmallRounding * SmallRounding;
        long power = 1L << (int)(63 - long.LeadingZeroCount(bytes - 1)); // largest power of two < bytes
        long step = power / 4;
        return (bytes + step - 1) / step * step;
    }

    /// <summary>A block of at least <paramref name="bytes"/> bytes (uninitialised), from the cache when one of its size class is free.</summary>
    internal ulong Allocate(long bytes)
    {
        long size = _caching ? RoundedSize(bytes) : bytes;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _allocations++;
            if (_free.TryGetValue(size, out var stack) && stack.Count > 0)
            {
                _cacheHits++;
                return HandOut(stack.Pop(), size);
            }
        }
        ulong pointer = AllocateFromDriver(size);
        lock (_gate)
        {
            _driverAllocations++;
            _reserved += size;
            return HandOut(pointer, size);
        }
    }

    private ulong AllocateFromDriver(long size)
    {
        try
        {
            return _driverAlloc(size);
        }
        catch (CudaException e) when (e.CodeName == "CUDA_ERROR_OUT_OF_MEMORY")
        {
            EmptyCache();
            return _driverAlloc(size);
        }
    }

    private ulong HandOut(ulong pointer, long size)
    {
        _live.Add(pointer, size);
        _inUse += size;
        _peak = Math.Max(_peak, _inUse);
        return pointer;
    }

    /// <summary>Returns a block to its size class. Never calls the driver (but without caching,
    /// where the block is freed at once); safe from any thread. After <see cref="Dispose"/>
    /// (process shutdown) it does nothing.</summary>
    internal void Release(ulong pointer)
    {
        if (!TryRelease(pointer)) throw new InvalidOperationException($"cuda allocator: block 0x{pointer:x} released twice or never allocated here");
    }

    /// <summary>The finalizer's form of <see cref="Release"/>: never throws (an exception on the
    /// finalizer thread would end the process).</summary>
    internal void ReleaseFromFinalizer(ulong pointer) => TryRelease(pointer);

    private bool TryRelease(ulong pointer)
    {
        long size;
        lock (_gate)
        {
            if (_disposed) return true;
            if (!_live.Remove(pointer, out size)) return false;
            _inUse -= size;
            if (_caching)
            {
                if (!_free.TryGetValue(size, out var stack)) _free[size] = stack = new Stack<ulong>();
                stack.Push(pointer);
                return true;
            }
            _reserved -= size;
        }
        _driverFree(pointer);
        return true;
    }

    /// <summary>Frees every cached (not in use) block back to the driver, after waiting for the
    /// stream, since queued kernels may still read blocks released to the cache.</summary>
    public void EmptyCache()
    {
        List<(ulong Pointer, long Size)> blocks;
        lock (_gate)
        {
            if (_disposed) return;
            blocks = [.. _free.SelectMany(kv => kv.Value.Select(p => (p, kv.Key)))];
            _free.Clear();
        }
        if (blocks.Count == 0) return;
        _synchronize();
        foreach (var (pointer, size) in blocks)
        {
            _driverFree(pointer);
            lock (_gate) _reserved -= size;
        }
    }

    public CudaMemoryStatistics Statistics
    {
        get
        {
            lock (_gate) return new(_inUse, _peak, _reserved, _allocations, _cacheHits, _driverAllocations);
        }
    }

    /// <summary>Starts a new peak measurement from the current use (for per-phase benchmarks).</summary>
    public void ResetPeak()
    {
        lock (_gate) _peak = _inUse;
    }

    /// <summary>Frees everything, in use or cached (the stream must be idle); later releases are ignored.</summary>
    public void Dispose()
    {
        List<ulong> all;
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            all = [.. _free.Values.SelectMany(s => s), .. _live.Keys];
            _free.Clear();
            _live.Clear();
            _inUse = 0;
            _reserved = 0;
        }
        foreach (var pointer in all) _driverFree(pointer);
    }
}
