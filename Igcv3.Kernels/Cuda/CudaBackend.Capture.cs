namespace Igcv3.Kernels.Cuda;

// Stream capture: work queued once, replayed as one CUDA graph launch.
public sealed partial class CudaBackend
{
    /// <summary>
    /// Captures the device work that <paramref name="enqueue"/> queues, without running it, as a
    /// <see cref="CapturedWork"/> to replay. The replays reuse the capture's addresses, so the
    /// blocks the captured work touches stay the capture's until it is disposed (see
    /// <see cref="CachingAllocator.GraphPool"/>); its inputs must be written into tensors allocated
    /// before the capture, before each replay.
    /// <para>Throws <see cref="StreamCaptureException"/>, the capture abandoned and nothing of it
    /// run, where the work cannot be captured: a download, upload, wait or timing inside it, an
    /// allocation the cache cannot serve (cuMemAlloc), or the driver's refusal.</para>
    /// </summary>
    public CapturedWork Capture(Action enqueue)
    {
        Enter();
        var pool = _allocator.BeginCollecting();
        try
        {
            _queue.BeginCapture();
            ICapturedWork work;
            try
            {
                enqueue();
                work = _queue.EndCapture();
            }
            catch
            {
                _queue.AbandonCapture();
                throw;
            }
            return new CapturedWork(this, work, pool);
        }
        catch (Exception e)
        {
            pool.Dispose();
            // A driver or cuBLAS failure inside the capture is the capture's failure (cuMemAlloc
            // refused while capturing, say): said as such, so that the caller can fall back.
            if (e is CudaInteropException) throw new StreamCaptureException($"the driver refused a call inside the captured step: {e.Message}", e);
            throw;
        }
        finally
        {
            _allocator.EndCollecting();
        }
    }

    /// <summary>Queues <paramref name="work"/> again.</summary>
    internal void Replay(ICapturedWork work)
    {
        Enter();
        work.Replay();
    }
}

/// <summary>Device work captured once by <see cref="CudaBackend.Capture"/> and replayed whole: one
/// graph launch on a GPU. Owns the memory the captured work uses; disposing it returns that memory
/// to the cache.</summary>
public sealed class CapturedWork : IDisposable
{
    private readonly CudaBackend _backend;
    private readonly ICapturedWork _work;
    private readonly CachingAllocator.GraphPool _pool;
    private bool _disposed;

    internal CapturedWork(CudaBackend backend, ICapturedWork work, CachingAllocator.GraphPool pool)
    {
        _backend = backend;
        _work = work;
        _pool = pool;
    }

    /// <summary>Device blocks the captured work owns (in use or free between replays).</summary>
    public int Blocks => _pool.Count;

    /// <summary>Queues the captured work again, after everything queued before.</summary>
    public void Replay()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _backend.Replay(_work);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _work.Dispose();
        _pool.Dispose();
    }
}
