namespace Igcv3.Engine.Cpu;

/// <summary>Host memory: a managed array, taken from the backend's <see cref="CpuArrayPool"/> and
/// given back to it when the storage is disposed (at the end of its <see cref="TensorScope"/>).
/// A storage never disposed (parameters, optimizer state) is left to the garbage collector.</summary>
public sealed class CpuStorage<T> : Storage where T : unmanaged
{
    private readonly CpuArrayPool? _pool;
    private T[]? _data;

    /// <summary>A zeroed storage, its array from <paramref name="pool"/> where given (and returned there on dispose).</summary>
    public CpuStorage(IBackend backend, DType dtype, long length, CpuArrayPool? pool = null) : base(backend, dtype, checked((int)length))
    {
        _pool = pool;
        _data = pool is null ? new T[length] : pool.Rent<T>(checked((int)length));
    }

    /// <summary>The elements; a disposed storage's array belongs to another storage, so reading it throws.</summary>
    public T[] Data => _data ?? throw new ObjectDisposedException(nameof(CpuStorage<T>), "a CPU storage was used after its tensor scope ended (or after Dispose)");

    protected override void Release()
    {
        var data = _data;
        _data = null;
        if (data is not null) _pool?.Return(data);
    }
}
