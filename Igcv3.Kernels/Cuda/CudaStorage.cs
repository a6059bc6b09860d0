using Igcv3.Engine;

namespace Igcv3.Kernels.Cuda;

/// <summary>
/// Device memory of one tensor storage: a block of the backend's <see cref="CachingAllocator"/>
/// (no block for an empty storage). Disposing (a <see cref="TensorScope"/> at the end of a step,
/// or the user) returns the block to the cache at once; an undisposed storage that the collector
/// finds unreachable returns it from its finalizer, which only moves bookkeeping and never calls
/// the driver, so it needs no CUDA context on the finalizer thread.
/// </summary>
public sealed class CudaStorage : Storage
{
    private readonly CachingAllocator _allocator;
    private readonly ulong _pointer;

    internal CudaStorage(CudaBackend backend, CachingAllocator allocator, DType dtype, long length, ulong pointer)
        : base(backend, dtype, length)
    {
        _allocator = allocator;
        _pointer = pointer;
    }

    ~CudaStorage()
    {
        if (_pointer != 0) _allocator.ReleaseFromFinalizer(_pointer);
    }

    /// <summary>The CUdeviceptr of element 0; throws once the storage is disposed.</summary>
    internal ulong Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            return _pointer;
        }
    }

    protected override void Release()
    {
        if (_pointer != 0) _allocator.Release(_pointer);
    }
}
