using Igcv3.Kernels.Compilation;
using static Igcv3.Kernels.Interop;

namespace Igcv3.Kernels.Cuda;

/// <summary>
/// The real <see cref="ICudaQueue"/>: one device, its primary context, ONE stream that every copy,
/// kernel and cuBLAS call is queued on, a second one for NCCL's collectives (created at the first,
/// ordered against the first by events), and the kernels of kernels-cu compiled by NVRTC for the
/// device's architecture at first use (through the disk cache). Owns the device: disposing the
/// queue releases the stream, cuBLAS, the modules and the device.
/// </summary>
internal sealed class DriverQueue : ICudaQueue
{
    /// <summary>Threads per block of every kernel (IGC_THREADS in igc_common.cuh).</summary>
    public const int BlockThreads = 256;

    /// <summary>IGCV3_SYNC_LAUNCHES=1: wait for every kernel as it is launched, so that a fault
    /// inside one (an illegal address) is reported naming that kernel instead of surfacing at the
    /// next download. For debugging a first run on a new GPU; it serialises host and device.</summary>
    private static readonly bool s_syncLaunches = Environment.GetEnvironmentVariable("IGCV3_SYNC_LAUNCHES") == "1";

    private readonly CudaDevice _device;
    private readonly KernelCompiler _compiler;
    private readonly CudaStreamHandle _stream;
    private readonly CublasHandle _cublas;
    private readonly Lazy<IReadOnlyDictionary<string, CudaModuleHandle>> _modules;
    private readonly Dictionary<string, CudaFunction> _functions = [];
    private readonly PinnedStaging _staging;
    private readonly DeviceMemoryHandle _cublasWorkspace;
    private CudaStreamHandle? _communication;
    private bool _capturing;

    /// <summary>cuBLAS's scratch memory, owned here (cublasSetWorkspace) so that a captured SGEMM
    /// uses a block that lives as long as the queue, instead of one cuBLAS would allocate inside the
    /// capture: with cudaMalloc before cuBLAS 12.2 (a call a capture refuses, and one block per
    /// captured graph), stream-ordered since. 32 MiB is what cuBLAS itself reserves on Hopper.</summary>
    private const long CublasWorkspaceBytes = 32L << 20;

    public DriverQueue(CudaDevice device, KernelCompiler compiler)
    {
        _device = device;
        _compiler = compiler;
        // Fails now, with the reason, rather than at the first kernel: an architecture older
        // than everything this NVRTC targets.
        _compiler.TargetFor(device.Architecture);
        device.MakeCurrent();
        _stream = CudaStreamHandle.Create(device.Context);
        try
        {
            _cublas = CublasHandle.Create(device.Context);
            Cublas.SetStream(_cublas, _stream);
            _cublasWorkspace = DeviceMemoryHandle.Allocate(device.Context, CublasWorkspaceBytes);
            Cublas.SetWorkspace(_cublas, _cublasWorkspace.Pointer, _cublasWorkspace.Bytes);
            // Plain IEEE FP32 GEMMs: TF32 would differ from the CPU reference by ~1e-3.
            Cublas.SetMathMode(_cublas, Cublas.MathMode.Default);
        }
        catch
        {
            _cublas?.Dispose();
            _cublasWorkspace?.Dispose();
            _stream.Dispose();
            throw;
        }
        _modules = new(LoadModules, LazyThreadSafetyMode.ExecutionAndPublication);
        _staging = new PinnedStaging(new StagingDevice(device.Context, _stream));
    }

    public CudaDevice Device => _device;

    public CudaStreamHandle Stream => _stream;

    public int Multiprocessors => _device.MultiprocessorCount;

    public void MakeCurrent() => _device.MakeCurrent();

    /// <summary>Compiles (or reads from the disk cache) and loads every kernel now.</summary>
    public void WarmUp() => _ = _modules.Value;

    public unsafe void Launch(KernelSignature kernel, Dim3 grid, ReadOnlySpan<KernelArg> args)
    {
        var function = Function(kernel);
        ulong* slots = stackalloc ulong[args.Length];
        void** pointers = stackalloc void*[args.Length];
        for (int i = 0; i < args.Length; i++)
        {
            slots[i] = args[i].Bits;
            pointers[i] = &slots[i];
        }
        CudaDriver.LaunchKernel(function, grid, new Dim3(BlockThreads), 0, _stream, pointers);
        if (!s_syncLaunches || _capturing) return;
        try
        {
            _stream.Synchronize();
        }
        catch (CudaInteropException e)
        {
            throw new InvalidOperationException($"kernel {kernel} (grid {grid.X}x{grid.Y}x{grid.Z}) failed: {e.Message}", e);
        }
    }

    public void Sgemm(Cublas.Operation transA, Cublas.Operation transB, int m, int n, int k,
        float alpha, ulong a, int lda, ulong b, int ldb, float beta, ulong c, int ldc) =>
        Cublas.Sgemm(_cublas, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    public void SgemmStridedBatched(Cublas.Operation transA, Cublas.Operation transB, int m, int n, int k,
        float alpha, ulong a, int lda, long strideA, ulong b, int ldb, long strideB, float beta, ulong c, int ldc, long strideC, int batchCount) =>
        Cublas.SgemmStridedBatched(_cublas, transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batchCount);

    public void MemsetD32(ulong destination, uint value, long count) => CudaDriver.MemsetD32Async(destination, value, count, _stream);

    // Through the pinned ring (PinnedStaging: the host does not wait for the stream); an upload
    // too large for it goes from pageable memory, which the driver stages before returning. Either
    // way the source may change as soon as the call returns, and the copy is ordered on the stream.
    public unsafe void CopyHostToDevice(ulong destination, void* source, long bytes)
    {
        if (_capturing) throw StreamCapture.Refused(StreamCapture.Upload);
        if (!_staging.TryCopy(destination, source, bytes)) CudaDriver.MemcpyHtoDAsync(destination, source, bytes, _stream);
    }

    public unsafe void CopyDeviceToHost(void* destination, ulong source, long bytes)
    {
        if (_capturing) throw StreamCapture.Refused(StreamCapture.Download);
        CudaDriver.MemcpyDtoHAsync(destination, source, bytes, _stream);
        // The host reads the values next: wait while the buffer is still pinned.
        _stream.Synchronize();
    }

    public void CopyDeviceToDevice(ulong destination, ulong source, long bytes) =>
        CudaDriver.MemcpyDtoDAsync(destination, source, bytes, _stream);

    public void Synchronize()
    {
        if (_capturing) throw StreamCapture.Refused(StreamCapture.Wait);
        _stream.Synchronize();
        _communication?.Synchronize();
    }

    public IQueueEvent CreateEvent() => new Event(CudaEventHandle.CreateFence(_device.Context));

    public void RecordEvent(IQueueEvent evt, QueueStream stream) => ((Event)evt).Handle.Record(StreamOf(stream));

    public void WaitEvent(QueueStream stream, IQueueEvent evt) => StreamOf(stream).Wait(((Event)evt).Handle);

    // NCCL queues its kernel on the stream and returns; inside a capture the communication stream
    // has joined it through the event it waited on, and NCCL's calls are captured like kernels.
    public void Collective(ulong address, long count, CollectiveCall call) => call.ForDriver(address, StreamOf(QueueStream.Communication));

    private CudaStreamHandle StreamOf(QueueStream stream) => stream == QueueStream.Compute
        ? _stream
        : _communication ??= CudaStreamHandle.Create(_device.Context);

    private sealed class Event(CudaEventHandle handle) : IQueueEvent
    {
        public CudaEventHandle Handle => handle;

        public void Dispose() => handle.Dispose();
    }

    public double TimeMilliseconds(Action enqueue)
    {
        if (_capturing) throw StreamCapture.Refused(StreamCapture.Timing);
        using var start = CudaEventHandle.Create(_device.Context);
        using var end = CudaEventHandle.Create(_device.Context);
        start.Record(_stream);
        enqueue();
        end.Record(_stream);
        end.Synchronize();
        return end.MillisecondsSince(start);
    }

    // Thread-local mode: a call on this thread that a capture must not contain (cuMemAlloc from an
    // allocator that ran out of cached blocks, a synchronisation this class did not refuse itself)
    // fails and invalidates the capture, so EndCapture reports it instead of a graph that would
    // silently miss work.
    public void BeginCapture()
    {
        if (_capturing) throw new InvalidOperationException("a stream capture is already in progress");
        CudaDriver.StreamBeginCapture(_stream, CudaDriver.CuStreamCaptureMode.ThreadLocal);
        _capturing = true;
    }

    public ICapturedWork EndCapture()
    {
        if (!_capturing) throw new InvalidOperationException("no stream capture is in progress");
        _capturing = false;
        try
        {
            using var graph = CudaGraphHandle.EndCapture(_device.Context, _stream);
            return new Graph(CudaGraphExecHandle.Instantiate(_device.Context, graph), _stream);
        }
        catch (CudaInteropException e)
        {
            throw new StreamCaptureException($"the driver ended the capture without a usable graph: {e.Message}", e);
        }
    }

    public void AbandonCapture()
    {
        if (!_capturing) return;
        _capturing = false;
        // An invalidated capture ends with an error status and no graph; a valid one with a graph
        // that nobody wants.
        if (CudaDriver.StreamEndCapture(_stream, out nint graph) == CudaDriver.CuResult.Success && graph != 0) CudaDriver.GraphDestroy(graph);
    }

    /// <summary>An instantiated graph, launched whole on the queue's stream.</summary>
    private sealed class Graph(CudaGraphExecHandle exec, CudaStreamHandle stream) : ICapturedWork
    {
        public void Replay() => exec.Launch(stream);

        public void Dispose() => exec.Dispose();
    }

    private CudaFunction Function(KernelSignature kernel)
    {
        var modules = _modules.Value;
        lock (_functions)
        {
            if (_functions.TryGetValue(kernel.Name, out var function)) return function;
            if (!modules.TryGetValue(kernel.Unit, out var module)) throw new InvalidOperationException($"{kernel}: unit {kernel.Unit} was not compiled");
            function = module.GetFunction(kernel.Name);
            _functions.Add(kernel.Name, function);
            return function;
        }
    }

    /// <summary>Compiles every unit the backend uses (in parallel: NVRTC is thread-safe and the
    /// first, uncached compile of the GEMM units takes seconds each), then loads them into the
    /// context on the calling thread.</summary>
    private IReadOnlyDictionary<string, CudaModuleHandle> LoadModules()
    {
        var units = CudaKernels.Units;
        var compiled = new CompiledModule[units.Count];
        Parallel.For(0, units.Count, i => compiled[i] = _compiler.Compile(units[i], _device.Architecture));
        var modules = new Dictionary<string, CudaModuleHandle>();
        _device.MakeCurrent();
        try
        {
            foreach (var module in compiled) modules.Add(module.UnitName, CudaModuleHandle.Load(_device.Context, module.Image));
        }
        catch
        {
            foreach (var loaded in modules.Values) loaded.Dispose();
            throw;
        }
        return modules;
    }

    /// <summary>Releases the modules, cuBLAS, the stream and the device. The caller has already
    /// synchronised and freed its device memory.</summary>
    public void Dispose()
    {
        if (_modules.IsValueCreated)
        {
            foreach (var module in _modules.Value.Values) module.Dispose();
        }
        _staging.Dispose();
        _cublas.Dispose();
        _cublasWorkspace.Dispose();
        _communication?.Dispose();
        _stream.Dispose();
        _device.Dispose();
    }

    /// <summary>The driver's side of <see cref="PinnedStaging"/>: cuMemHostAlloc, cuMemcpyHtoDAsync
    /// on the one stream, and events without timing as fences.</summary>
    private sealed class StagingDevice(CudaContextHandle context, CudaStreamHandle stream) : IStagingDevice
    {
        public IPinnedBuffer AllocatePinned(long bytes) => PinnedHostMemoryHandle.Allocate(context, bytes);

        public unsafe void CopyToDevice(ulong destination, nint pinnedSource, long bytes) =>
            CudaDriver.MemcpyHtoDAsync(destination, (void*)pinnedSource, bytes, stream);

        public IStagingFence CreateFence() => new Fence(CudaEventHandle.CreateFence(context), stream);

        private sealed class Fence(CudaEventHandle evt, CudaStreamHandle stream) : IStagingFence
        {
            private bool _recorded;

            public void Record()
            {
                evt.Record(stream);
                _recorded = true;
            }

            public void Wait()
            {
                if (_recorded) evt.Synchronize();
            }

            public void Dispose() => evt.Dispose();
        }
    }
}
