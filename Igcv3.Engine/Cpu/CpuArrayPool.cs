namespace Igcv3.Engine.Cpu;

/// <summary>Host memory figures of a <see cref="CpuArrayPool"/>, in bytes: held by live storages
/// (now and at the peak since the last reset), and cached for reuse.</summary>
public readonly record struct CpuMemoryStatistics(long BytesInUse, long PeakBytesInUse, long BytesCached, long Rents, long CacheHits);

/// <summary>
/// The CPU backend's caching allocator: the arrays of released storages, kept by element type and
/// exact length for the next allocation of that size. A training step allocates the same sizes
/// every time, so from the second step on its temporaries reuse the first step's arrays at once,
/// instead of piling up as garbage (most are large-object-heap arrays, collected only in full
/// collections) until the collector runs: the peak stays near the step's live bytes. Thread-safe.
/// </summary>
public sealed class CpuArrayPool
{
    private readonly Dictionary<(Type, int), Stack<Array>> _free = [];
    private readonly object _lock = new();
    private long _inUse, _peak, _cached, _rents, _hits;

    /// <summary>A zeroed array of <paramref name="length"/> elements: a cached one cleared if there is one, else a new one.</summary>
    public T[] Rent<T>(int length) where T : unmanaged
    {
        long bytes = (long)length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        T[]? array = null;
        lock (_lock)
        {
            _rents++;
            if (_free.TryGetValue((typeof(T), length), out var stack) && stack.Count > 0)
            {
                array = (T[])stack.Pop();
                _cached -= bytes;
                _hits++;
            }
            _inUse += bytes;
            _peak = Math.Max(_peak, _inUse);
        }
        if (array is null) return new T[length];
        Array.Clear(array);
        return array;
    }

    /// <summary>Takes back an array rented from this pool.</summary>
    public void Return<T>(T[] array) where T : unmanaged
    {
        long bytes = (long)array.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        lock (_lock)
        {
            if (!_free.TryGetValue((typeof(T), array.Length), out var stack)) _free[(typeof(T), array.Length)] = stack = new Stack<Array>();
            stack.Push(array);
            _inUse -= bytes;
            _cached += bytes;
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
