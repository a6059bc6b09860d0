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
/// <para>A captured CUDA graph keeps its blocks in a <see cref="GraphPool"/> (see there).</para>
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
    private readonly Dictionary<ulong, GraphPool> _pooled = []; // block → the graph pool that owns it
    private GraphPool? _collecting;                             // the pool of the capture in progress
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
            // During a capture the pool's own released blocks first, as the cache serves eager steps.
            if (_collecting?.TryTake(size) is { } reused)
            {
                _cacheHits++;
                return HandOut(reused, size);
            }
            if (_free.TryGetValue(size, out var stack) && stack.Count > 0)
            {
                _cacheHits++;
                return HandOut(Collected(stack.Pop()), size);
            }
        }
        ulong pointer = AllocateFromDriver(size);
        lock (_gate)
        {
            _driverAllocations++;
            _reserved += size;
            return HandOut(Collected(pointer), size);
        }
    }

    /// <summary>A block handed out while a capture is collecting joins its pool.</summary>
    private ulong Collected(ulong pointer)
    {
        if (_collecting is { } pool)
        {
            pool.Blocks.Add(pointer);
            _pooled[pointer] = pool;
        }
        return pointer;
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
            // A block released during a capture may be read by the graph (it was live when the
            // capture began, and work captured before its release uses it): it joins the pool too.
            if (!_pooled.ContainsKey(pointer) && _collecting is not null) Collected(pointer);
            if (_pooled.TryGetValue(pointer, out var pool))
            {
                pool.Return(pointer, size);
                return true;
            }
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

    /// <summary>Starts collecting the blocks of a capture: until <see cref="EndCollecting"/>, every
    /// block handed out or released belongs to the returned pool.</summary>
    internal GraphPool BeginCollecting()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_collecting is not null) throw new InvalidOperationException("cuda allocator: a capture is already collecting blocks");
            return _collecting = new GraphPool(this);
        }
    }

    /// <summary>The capture has ended: the pool keeps what it holds, but takes no more.</summary>
    internal void EndCollecting()
    {
        lock (_gate) _collecting = null;
    }

    /// <summary>The pool's graph is gone: its free blocks go back to the cache (to the driver
    /// without caching), and its blocks still in use go back there when released.</summary>
    private void Dissolve(GraphPool pool)
    {
        List<ulong> toDriver = [];
        lock (_gate)
        {
            if (_collecting == pool) _collecting = null;
            foreach (var pointer in pool.Blocks) _pooled.Remove(pointer);
            if (_disposed) return;
            foreach (var (size, stack) in pool.Free)
            {
                foreach (var pointer in stack)
                {
                    if (_caching)
                    {
                        if (!_free.TryGetValue(size, out var cached)) _free[size] = cached = new Stack<ulong>();
                        cached.Push(pointer);
                    }
                    else
                    {
                        _reserved -= size;
                        toDriver.Add(pointer);
                    }
                }
            }
            pool.Free.Clear();
        }
        foreach (var pointer in toDriver) _driverFree(pointer);
    }

    /// <summary>
    /// The device memory of one captured graph. A graph replays with the addresses of its capture,
    /// so every block the captured work touched must stay this graph's while the graph lives:
    /// freed to the driver, a replay would write into memory the driver may have handed to
    /// anyone; handed to a later tensor, a replay would overwrite that tensor. So from the start of
    /// the capture every block handed out, and every block released (it may have been read by
    /// work captured before its release), belongs to the pool, and a block released into the pool
    /// is reused only by the capture itself (in the order of the stream, as the cache reuses blocks
    /// in an eager step) and never by eager work, until the pool is disposed with its graph.
    /// <para>Lending the pool's free blocks to eager work between replays (an evaluation between
    /// epochs) would be safe only for blocks whose contents no replay reads before writing them,
    /// and only if whatever was allocated there is gone by the next replay; the pool also holds the
    /// step's outputs (loss, logits) that are read after each replay, and an evaluation's tensors
    /// are not bound to be gone in time. Not lending costs the evaluation its own blocks, which the
    /// cache keeps from one epoch to the next; that is the price of never corrupting a tensor.</para>
    /// </summary>
    internal sealed class GraphPool(CachingAllocator allocator) : IDisposable
    {
        /// <summary>Every block the pool owns, in use or free.</summary>
        internal readonly HashSet<ulong> Blocks = [];

        /// <summary>The pool's released blocks by size, for the capture to reuse.</summary>
        internal readonly Dictionary<long, Stack<ulong>> Free = [];

        private bool _disposed;

        internal ulong? TryTake(long size) => Free.TryGetValue(size, out var stack) && stack.Count > 0 ? stack.Pop() : null;

        internal void Return(ulong pointer, long size)
        {
            if (!Free.TryGetValue(size, out var stack)) Free[size] = stack = new Stack<ulong>();
            stack.Push(pointer);
        }

        /// <summary>Blocks the pool holds (in use or free).</summary>
        public int Count
        {
            get
            {
                lock (allocator._gate) return Blocks.Count;
            }
        }

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            allocator.Dissolve(this);
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
            // Graph pools' free blocks are in neither list; their graphs are gone with the device.
            all = [.. _free.Values.SelectMany(s => s), .. _live.Keys, .. _pooled.Keys.Where(p => !_live.ContainsKey(p))];
            _free.Clear();
            _live.Clear();
            _pooled.Clear();
            _inUse = 0;
            _reserved = 0;
        }
        foreach (var pointer in all) _driverFree(pointer);
    }
}
