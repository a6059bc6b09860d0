namespace Igcv3.Bench.Timing;

/// <summary>Peak memory over a region: reset before, read after, with a line saying what was read.</summary>
public interface IMemoryProbe
{
    string Source { get; }

    void Reset();

    long? Read();
}

/// <summary>The CPU's figure: the largest managed heap seen after a step (tensors live in managed
/// arrays there), sampled by <see cref="Sample"/>.</summary>
public sealed class ManagedHeapProbe : IMemoryProbe
{
    private long _peak;

    public string Source => "managed heap size (GC), largest seen after a step";

    public void Reset() => _peak = 0;

    public void Sample() => _peak = Math.Max(_peak, GC.GetGCMemoryInfo().HeapSizeBytes);

    public long? Read()
    {
        Sample();
        return _peak;
    }
}

/// <summary>Any probe given as delegates (the CUDA allocator's statistics, or total minus free device memory).</summary>
public sealed class DelegateProbe(string source, Action reset, Func<long?> read) : IMemoryProbe
{
    public string Source => source;

    public void Reset() => reset();

    public long? Read() => read();
}
