namespace Igcv3.Engine.Cpu;

/// <summary>Host memory: a managed array (zeroed by the runtime on allocation).</summary>
public sealed class CpuStorage<T> : Storage where T : unmanaged
{
    public CpuStorage(IBackend backend, DType dtype, long length) : base(backend, dtype, checked((int)length))
    {
        Data = new T[length];
    }

    public T[] Data { get; }

    protected override void Release()
    {
        // Managed memory: the garbage collector owns it.
    }
}
