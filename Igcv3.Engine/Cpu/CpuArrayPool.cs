namespace Igcv3.Engine.Cpu;

/// <summary>Host memory figures of a <see cref="CpuArrayPool"/>, in bytes: held by live storages
/// (now and at the peak since the last reset), and cached for reuse.</summary>
public readonly record struct CpuMemoryStatistics(long BytesInUse, long PeakBytesInUse, long BytesCached, long Rents, long CacheHits);

/// <summary>
/// The CPU backend's caching allocator: the arrays of released storages, kept by element type and
/// length for the next allocation that fits. A training step allocates the same sizes every time,
/// so from the second step on its temporaries reuse the first step's arrays at once, instead of
/// piling up as garbage (most are large-object-heap arrays, collected only in full collections)
/// until the collector runs: the peak stays near the step's live bytes. An allocation takes the
/// smallest cached array at least as long and at most twice as long (a storage may be shorter
/// than its array: its tensors are views), so evaluation, at another batch size, reuses the
/// training step's arrays rather than caching its own beside them. Thread-safe.
/// </summary>
public sealed class CpuArrayPool
{
    /// <summary>Per element type: cached arrays by length.</summary>
    private readonly Dictionary<Type, SortedDictionary<int, Stack<Array>>> _free = [];
    private readonly object _lock = new();
    private long _inUse, _peak, _cached, _rents, _hits;

    /// <summary>An array of at least <paramref name="length"/> elements, the first <paramref
    /// name="length"/> zero: a cached one that fits, cleared, or else a new one.</summary>
    public T[] Rent<T>(int length) where T : unmanaged
    {
        T[]? array = null;
        lock (_lock)
        {
            _rents++;
            if (_free.TryGetValue(typeof(T), out var sizes))
            {
                foreach (var (size, stack) in sizes)
                {
                    if (size < length) continue;
                    if (size <= 2L * length)
                    {
                        array = (T[])stack.Pop();
                        if (stack.Count == 0) sizes.Remove(size);
                        _cached -= Bytes(array);
                        _hits++;
                    }
                    break;
                }
            }
            _inUse += array is null ? (long)length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>() : Bytes(array);
            _peak = Math.Max(_peak, _inUse);
        }
        if (array is null) return new T[length]; // zeroed by the runtime
        Array.Clear(array, 0, length);
        return array;
    }

    private static long Bytes<T>(T[] array) where T : unmanaged => (long)array.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();

    /// <summary>Takes back an array rented from this pool.</summary>
    public void Return<T>(T[] array) where T : unmanaged
    {
        lock (_lock)
        {
            if (!_free.TryGetValue(typeof(T), out var sizes)) _free[typeof(T)] = sizes = [];
            if (!sizes.TryGetValue(array.Length, out var stack)) sizes[array.Length] = stack = new Stack<Array>();
            stack.Push(array);
            _inUse -= Bytes(array);
            _cached += Bytes(array);
        }
    }

    public CpuMemoryStatistics Statistics
    {
        get { lock (_lock) return new CpuMemoryStatistics(_inUse, _peak, _cached, _rents, _hits); }
    }

    /// <summary>Starts the peak afresh from what is in use now.</summary>
    public void ResetPeak()
    {
        lock (_lock) _peak = _inUse;
    }

    /// <summary>Drops every cached array (to the garbage collector).</summary>
    public void Trim()
    {
        lock (_lock)
        {
            _free.Clear();
            _cached = 0;
        }
    }
}
