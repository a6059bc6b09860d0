namespace Igcv3.Kernels.Cuda;

/// <summary>Page-locked host memory: <see cref="Bytes"/> bytes at <see cref="Pointer"/>.</summary>
internal interface IPinnedBuffer : IDisposable
{
    nint Pointer { get; }

    long Bytes { get; }
}

/// <summary>An event on the stream: <see cref="Record"/> marks the work queued so far, <see
/// cref="Wait"/> blocks the host until that work is done (at once if never recorded).</summary>
internal interface IStagingFence : IDisposable
{
    void Record();

    void Wait();
}

/// <summary>What <see cref="PinnedStaging"/> needs of the device: pinned memory, a copy queued on
/// the stream, fences on the stream.</summary>
internal interface IStagingDevice
{
    /// <summary>Throws <see cref="CudaInteropException"/> when the driver refuses (a pinned-memory limit).</summary>
    IPinnedBuffer AllocatePinned(long bytes);

    /// <summary>Queues a copy of <paramref name="bytes"/> from pinned host memory to the device.</summary>
    void CopyToDevice(ulong destination, nint pinnedSource, long bytes);

    IStagingFence CreateFence();
}

/// <summary>
/// Host-to-device copies through a ring of page-locked buffers. From pageable memory,
/// cuMemcpyHtoDAsync "may synchronize with the stream" to stage the bytes (CUDA's API sync
/// behaviour notes): the next batch's upload would then wait until the GPU finished the previous
/// step, and the host could never queue a step ahead. Here the bytes are copied into a pinned
/// slot on the host, the DMA from it is queued, and a fence recorded after it; a slot is reused
/// only once its fence has passed. With <see cref="Slots"/> slots the host waits, at most, for the
/// upload queued <see cref="Slots"/> uploads earlier (a training step uploads two: images, labels).
/// <para>A slot grows to fit its largest upload (in 64 KiB steps). Uploads above
/// <c>largestStaged</c>, and every upload once the driver refuses pinned memory, are not staged
/// (<see cref="TryCopy"/> returns false and the caller copies from pageable memory).</para>
/// </summary>
internal sealed class PinnedStaging : IDisposable
{
    /// <summary>Eight slots: four training steps of images and labels in flight.</summary>
    public const int DefaultSlots = 8;

    /// <summary>64 MiB: an ImageNet batch of 64 (38.5 MiB of float images) is staged; a whole
    /// dataset uploaded at once is not pinned.</summary>
    public const long DefaultLargestStaged = 64L << 20;

    private const long Granularity = 64 << 10;

    private readonly IStagingDevice _device;
    private readonly long _largestStaged;
    private readonly IPinnedBuffer?[] _buffers;
    private readonly IStagingFence?[] _fences;
    private int _next;
    private bool _refused;

    public PinnedStaging(IStagingDevice device, int slots = DefaultSlots, long largestStaged = DefaultLargestStaged)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(slots);
        _device = device;
        _largestStaged = largestStaged;
        _buffers = new IPinnedBuffer?[slots];
        _fences = new IStagingFence?[slots];
    }

    public int Slots => _buffers.Length;

    /// <summary>Page-locked bytes held by the slots.</summary>
    public long PinnedBytes => _buffers.Sum(b => b?.Bytes ?? 0);

    /// <summary>Why uploads are no longer staged, when the driver refused pinned memory; else null.</summary>
    public string? RefusedBecause { get; private set; }

    /// <summary>Copies <paramref name="source"/> into the next slot and queues its DMA to
    /// <paramref name="destination"/>; the source may change as soon as this returns. False (and
    /// nothing queued) where the upload is not staged: the caller copies it directly.</summary>
    public unsafe bool TryCopy(ulong destination, void* source, long bytes)
    {
        if (_refused || bytes <= 0 || bytes > _largestStaged) return false;
        // Uploads may come from more than one thread: a slot belongs to one at a time.
        lock (_buffers) return CopyThroughNextSlot(destination, source, bytes);
    }

    private unsafe bool CopyThroughNextSlot(ulong destination, void* source, long bytes)
    {
        if (_refused) return false;
        int slot = _next;
        var fence = _fences[slot] ??= _device.CreateFence();
        // The slot's previous DMA must have read the slot before the host overwrites it.
        fence.Wait();
        var buffer = _buffers[slot];
        if (buffer is null || buffer.Bytes < bytes)
        {
            buffer?.Dispose();
            _buffers[slot] = null;
            try
            {
                buffer = _device.AllocatePinned((bytes + Granularity - 1) / Granularity * Granularity);
            }
            catch (CudaInteropException e)
            {
                _refused = true;
                RefusedBecause = e.Message;
                return false;
            }
            _buffers[slot] = buffer;
        }
        new ReadOnlySpan<byte>(source, checked((int)bytes)).CopyTo(new Span<byte>((void*)buffer.Pointer, (int)bytes));
        _device.CopyToDevice(destination, buffer.Pointer, bytes);
        fence.Record();
        _next = (slot + 1) % Slots;
        return true;
    }

    /// <summary>Waits for every queued DMA from the slots, then frees them. A failed context
    /// (a faulted kernel) fails the wait; the memory is freed all the same.</summary>
    public void Dispose()
    {
        lock (_buffers)
        {
            _refused = true; // a late upload goes from pageable memory instead of leaking a new slot
            RefusedBecause ??= "disposed";
            ReleaseSlots();
        }
    }

    private void ReleaseSlots()
    {
        for (int i = 0; i < Slots; i++)
        {
            try
            {
                _fences[i]?.Wait();
            }
            catch (CudaInteropException)
            {
            }
            _fences[i]?.Dispose();
            _fences[i] = null;
            _buffers[i]?.Dispose();
            _buffers[i] = null;
        }
    }
}
