namespace Igcv3.Engine;

/// <summary>A flat, typed allocation owned by one backend. Tensors are views into a storage
/// (offset + shape), which is how parameters, gradients and optimizer state each live in one
/// contiguous buffer with named views (as llm.c does it).</summary>
public abstract class Storage : IDisposable
{
    protected Storage(IBackend backend, DType dtype, long length)
    {
        Backend = backend;
        DType = dtype;
        Length = length;
        TensorScope.Track(this);
    }

    public IBackend Backend { get; }

    public DType DType { get; }

    /// <summary>Length in elements.</summary>
    public long Length { get; }

    public bool IsDisposed { get; private set; }

    public void Dispose()
    {
        if (IsDisposed) return;
        IsDisposed = true;
        Release();
        GC.SuppressFinalize(this);
    }

    /// <summary>Returns the memory to its backend. Called at most once.</summary>
    protected abstract void Release();
}
