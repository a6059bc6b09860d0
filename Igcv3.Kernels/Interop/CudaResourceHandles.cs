using static Igcv3.Kernels.Interop.CudaDriver;

namespace Igcv3.Kernels;

/// <summary>A device allocation of <see cref="Bytes"/> bytes (cuMemAlloc / cuMemFree).</summary>
internal sealed class DeviceMemoryHandle : ContextBoundHandle
{
    DeviceMemoryHandle(CudaContextHandle context, long bytes)
        : base(context, () => (nint)MemAlloc(bytes))
    {
        Bytes = bytes;
    }

    public long Bytes { get; }

    /// <summary>The CUdeviceptr. Valid only while this handle is open.</summary>
    public ulong Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsClosed, this);
            return (ulong)handle;
        }
    }

    /// <summary>Allocates <paramref name="bytes"/> (at least 1: cuMemAlloc rejects 0) bytes, uninitialised.</summary>
    public static DeviceMemoryHandle Allocate(CudaContextHandle context, long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        return new DeviceMemoryHandle(context, bytes);
    }

    protected override bool Release(nint pointer) => Released(MemFree((ulong)pointer));
}

/// <summary>Page-locked host memory of <see cref="Bytes"/> bytes (cuMemHostAlloc / cuMemFreeHost).</summary>
internal sealed class PinnedHostMemoryHandle : ContextBoundHandle, Cuda.IPinnedBuffer
{
    PinnedHostMemoryHandle(CudaContextHandle context, long bytes)
        : base(context, () => MemHostAlloc(bytes))
    {
        Bytes = bytes;
    }

    public long Bytes { get; }

    /// <summary>The host address. Valid only while this handle is open.</summary>
    public nint Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsClosed, this);
            return handle;
        }
    }

    public static PinnedHostMemoryHandle Allocate(CudaContextHandle context, long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        return new PinnedHostMemoryHandle(context, bytes);
    }

    protected override bool Release(nint pointer) => Released(MemFreeHost(pointer));
}

/// <summary>A CUDA stream (cuStreamCreate / cuStreamDestroy), non-blocking with respect to the legacy default stream.</summary>
internal sealed class CudaStreamHandle : ContextBoundHandle
{
    CudaStreamHandle(CudaContextHandle context) : base(context, () => StreamCreate(StreamNonBlocking)) { }

    public static CudaStreamHandle Create(CudaContextHandle context) => new(context);

    public void Synchronize() => StreamSynchronize(this);

    /// <summary>cuStreamWaitEvent: work queued here from now on waits for what <paramref name="evt"/>'s latest record marked.</summary>
    public void Wait(CudaEventHandle evt) => StreamWaitEvent(this, evt);

    protected override bool Release(nint stream) => Released(StreamDestroy(stream));
}

/// <summary>An event (cuEventCreate / cuEventDestroy): a timing event, or a fence only waited on.</summary>
internal sealed class CudaEventHandle : ContextBoundHandle
{
    CudaEventHandle(CudaContextHandle context, uint flags) : base(context, () => EventCreate(flags)) { }

    /// <summary>A timing event.</summary>
    public static CudaEventHandle Create(CudaContextHandle context) => new(context, EventDefault);

    /// <summary>An event without timing, for waiting on the work queued before it.</summary>
    public static CudaEventHandle CreateFence(CudaContextHandle context) => new(context, EventDisableTiming);

    public void Record(CudaStreamHandle stream) => EventRecord(this, stream);

    public void Synchronize() => EventSynchronize(this);

    /// <summary>Milliseconds from <paramref name="start"/> to this event; both must have completed.</summary>
    public float MillisecondsSince(CudaEventHandle start) => EventElapsedTime(start, this);

    protected override bool Release(nint evt) => Released(EventDestroy(evt));
}

/// <summary>A graph captured from a stream (cuStreamEndCapture / cuGraphDestroy): only the template
/// that <see cref="CudaGraphExecHandle.Instantiate"/> makes an executable graph of.</summary>
internal sealed class CudaGraphHandle : ContextBoundHandle
{
    CudaGraphHandle(CudaContextHandle context, Func<nint> create) : base(context, create) { }

    /// <summary>Ends <paramref name="stream"/>'s capture; throws (the capture ended either way)
    /// when it was invalidated or produced no graph.</summary>
    public static CudaGraphHandle EndCapture(CudaContextHandle context, CudaStreamHandle stream) => new(context, () =>
    {
        var status = StreamEndCapture(stream, out nint graph);
        if (status != CuResult.Success) throw Failure(status, "cuStreamEndCapture(stream, out graph)");
        if (graph == 0) throw new CudaException("cuStreamEndCapture(stream, out graph)", 0, "CUDA_SUCCESS", "the capture returned no graph");
        return graph;
    });

    protected override bool Release(nint graph) => Released(GraphDestroy(graph));
}

/// <summary>An executable graph (cuGraphInstantiateWithFlags / cuGraphExecDestroy), launched whole
/// on a stream by <see cref="Launch"/>. Independent of its template once instantiated.</summary>
internal sealed class CudaGraphExecHandle : ContextBoundHandle
{
    CudaGraphExecHandle(CudaContextHandle context, CudaGraphHandle graph) : base(context, () => GraphInstantiate(graph.DangerousGetHandle())) { }

    public static CudaGraphExecHandle Instantiate(CudaContextHandle context, CudaGraphHandle graph) => new(context, graph);

    public void Launch(CudaStreamHandle stream) => GraphLaunch(this, stream);

    protected override bool Release(nint exec) => Released(GraphExecDestroy(exec));
}

/// <summary>A loaded CUBIN or PTX module (cuModuleLoadDataEx / cuModuleUnload), with the JIT's info log.</summary>
internal sealed class CudaModuleHandle : ContextBoundHandle
{
    string infoLog = "";

    CudaModuleHandle(CudaContextHandle context, Func<nint> load) : base(context, load) { }

    /// <summary>What the driver's JIT reported while loading (empty for most CUBINs).</summary>
    public string InfoLog => infoLog;

    public static CudaModuleHandle Load(CudaContextHandle context, ReadOnlyMemory<byte> image)
    {
        string log = "";
        var module = new CudaModuleHandle(context, () => ModuleLoadData(image.Span, out log));
        module.infoLog = log;
        return module;
    }

    /// <summary>The kernel named <paramref name="name"/> (its extern "C" or mangled name).</summary>
    public CudaFunction GetFunction(string name) => new(this, ModuleGetFunction(this, name), name);

    protected override bool Release(nint module) => Released(ModuleUnload(module));
}

/// <summary>A kernel in a loaded module. Not owned: it lives as long as its module, which this
/// object keeps reachable; it must not be used after the module is disposed.</summary>
internal sealed class CudaFunction(CudaModuleHandle module, nint handle, string name)
{
    public CudaModuleHandle Module { get; } = module;

    public nint Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(Module.IsClosed, Module);
            return handle;
        }
    }

    public string Name { get; } = name;

    public override string ToString() => Name;
}
