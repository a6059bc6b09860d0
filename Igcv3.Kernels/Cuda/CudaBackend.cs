using System.Runtime.CompilerServices;
using Igcv3.Engine;
using Igcv3.Kernels.Compilation;
using static Igcv3.Kernels.Interop;

namespace Igcv3.Kernels.Cuda;

/// <summary>
/// The CUDA backend: one device, its primary context, ONE stream that every copy, kernel and
/// cuBLAS call is queued on (so the order of the calls is the order of execution, and memory
/// released to the caching allocator can be reused by the next op without events; collectives
/// alone go on a second stream, see CudaBackend.Collectives.cs), kernels from
/// kernels-cu compiled by NVRTC for the device's own architecture at first use (through the disk
/// cache), and a <see cref="CachingAllocator"/>. Computes in F32 (labels in I32). No op waits for
/// the GPU: only <see cref="Download{T}"/> (and so Tensor.Item()) and <see cref="Synchronize"/> do.
/// One partial file per op family, mirroring kernels-cu; each launcher follows the launch
/// contract in its unit's header comment.
/// </summary>
public sealed partial class CudaBackend : IBackend, IDisposable
{
    /// <summary>Threads per block of every kernel (IGC_THREADS in igc_common.cuh).</summary>
    private const int BlockThreads = DriverQueue.BlockThreads;

    private readonly ICudaQueue _queue;
    private readonly DriverQueue? _driver; // null for a backend over a test queue
    private readonly CachingAllocator _allocator;
    private bool _disposed;

    /// <summary>Takes ownership of <paramref name="device"/>: disposing the backend disposes it.</summary>
    /// <param name="compiler">The NVRTC compiler; by default one with the disk cache (IGCV3_KERNEL_CACHE or ~/.cache/igcv3/kernels).</param>
    public CudaBackend(CudaDevice device, KernelCompiler? compiler = null)
    {
        _driver = new DriverQueue(device, compiler ?? KernelCompiler.CreateDefault());
        _queue = _driver;
        _allocator = new CachingAllocator(
            bytes => CudaDriver.MemAlloc(bytes),
            pointer => CudaDriver.MemFree(pointer),
            () => _queue.Synchronize());
        Name = $"cuda:{device.Ordinal} ({device.Name}, {device.Architecture})";
    }

    /// <summary>A backend whose device work goes to <paramref name="queue"/> (a recording or
    /// emulating queue in tests) and whose memory comes from <paramref name="allocator"/>. Its 1x1
    /// convolutions start <see cref="PointwiseGemm.Tiled"/>: a test queue's times are a model, so
    /// a test that exercises <see cref="PointwiseGemm.Auto"/> asks for it.</summary>
    internal CudaBackend(ICudaQueue queue, CachingAllocator allocator, string name)
    {
        _queue = queue;
        _allocator = allocator;
        Name = name;
        PointwiseGemm = PointwiseGemm.Tiled;
    }

    /// <summary>The factory for <see cref="DeviceSelector"/>.</summary>
    public static CudaBackend Create(CudaDevice device) => new(device);

    /// <summary>A backend on device <paramref name="ordinal"/>, or the reason there is none
    /// (no driver, no GPU, no NVRTC, no cuBLAS). Never throws.</summary>
    public static bool TryCreate(out CudaBackend? backend, out string reason, int ordinal = 0)
    {
        backend = null;
        if (!CudaDevice.TryOpen(out var device, out reason, ordinal)) return false;
        try
        {
            backend = new CudaBackend(device!);
            return true;
        }
        catch (Exception e) when (e is CudaInteropException or DllNotFoundException or NotSupportedException or EntryPointNotFoundException)
        {
            device!.Dispose();
            reason = $"{device} opened, but the CUDA backend could not start: {e.Message}";
            return false;
        }
    }

    /// <summary>A backend on the emulated device (<see cref="Emulation.EmulatedQueue"/>): the
    /// CUDA kernels compiled by the host C++ compiler and run on the CPU, for checking kernels and
    /// launchers without a GPU; or the reason there is none (no C++ compiler). Never throws.</summary>
    public static bool TryCreateEmulated(out CudaBackend? backend, out string reason)
    {
        backend = Emulation.EmulatedDeviceLibrary.TryGet(out var library, out reason) ? Emulation.EmulatedQueue.Backend(library!) : null;
        return backend is not null;
    }

    /// <summary>"cuda:0 (NVIDIA H100 80GB HBM3, sm_90)".</summary>
    public string Name { get; }

    public CudaDevice Device => Driver.Device;

    private DriverQueue Driver => _driver ?? throw new InvalidOperationException($"{Name} runs on a test queue, not a device");

    /// <summary>Memory in use, its peak and what is reserved from the driver (see <see cref="CachingAllocator"/>).</summary>
    public CudaMemoryStatistics MemoryStatistics => _allocator.Statistics;

    /// <summary>Starts a new peak-memory measurement from the current use.</summary>
    public void ResetPeakMemory() => _allocator.ResetPeak();

    /// <summary>The compute stream, which all work but the collectives is queued on: the benchmarks record their CUDA events on it.</summary>
    internal CudaStreamHandle Stream => Driver.Stream;

    /// <summary>Returns every cached, unused block to the driver (waits for the stream first).</summary>
    public void EmptyCache()
    {
        Enter();
        _allocator.EmptyCache();
    }

    /// <summary>Compiles (or reads from the disk cache) and loads every kernel now, instead of at
    /// the first op: benchmarks call it so that the first timed step does not include NVRTC.</summary>
    public void WarmUp()
    {
        Enter();
        _driver?.WarmUp();
    }

    public override string ToString() => Name;

    // ---- memory -------------------------------------------------------------------------

    public Storage Allocate(DType dtype, long length) => Allocate(dtype, length, zeroed: true);

    /// <summary>No memset: a forward output's kernel writes every element (the parity tests poison
    /// such outputs with NaN to prove it), and the memset would cost a full write pass.</summary>
    public Storage AllocateUninitialized(DType dtype, long length) => Allocate(dtype, length, zeroed: false);

    private Storage Allocate(DType dtype, long length, bool zeroed)
    {
        if (dtype == DType.F64)
        {
            throw new NotSupportedException($"{Name}: cannot allocate F64: the CUDA backend computes in F32; F64 exists for CPU gradient checks");
        }
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Enter();
        // Whole 32-bit words, so that one 32-bit memset zeroes a 2-byte BF16 storage of odd length too.
        long bytes = checked(length * dtype.SizeInBytes() + 3) / 4 * 4;
        ulong pointer = length == 0 ? 0 : _allocator.Allocate(bytes);
        try
        {
            // The contract: storages start zeroed (gradients rely on it). One memset, queued.
            if (zeroed && length > 0) _queue.MemsetD32(pointer, 0, bytes / 4);
        }
        catch
        {
            _allocator.Release(pointer);
            throw;
        }
        return new CudaStorage(this, _allocator, dtype, length, pointer);
    }

    public unsafe void Upload<T>(ReadOnlySpan<T> source, Tensor destination) where T : unmanaged
    {
        Enter();
        CheckHostType<T>("upload", destination);
        if (source.Length != destination.Count) throw new ArgumentException($"upload of {source.Length} values into a tensor of {destination.Count}");
        if (source.Length == 0) return;
        fixed (T* host = source)
        {
            _queue.CopyHostToDevice(Address(destination), host, (long)source.Length * sizeof(T));
        }
    }

    public unsafe void Download<T>(Tensor source, Span<T> destination) where T : unmanaged
    {
        Enter();
        CheckHostType<T>("download", source);
        if (source.Count != destination.Length) throw new ArgumentException($"download of a tensor of {source.Count} values into {destination.Length}");
        if (destination.Length == 0) return;
        fixed (T* host = destination)
        {
            _queue.CopyDeviceToHost(host, Address(source), (long)destination.Length * sizeof(T));
        }
    }

    public void Fill(Tensor tensor, double value)
    {
        Enter();
        uint bits = tensor.DType switch
        {
            DType.F32 => BitConverter.SingleToUInt32Bits((float)value),
            DType.I32 => unchecked((uint)checked((int)value)),
            _ => throw new NotSupportedException($"{Name}: fill of {tensor.DType} (a BF16 tensor is filled by an upload of BFloat16.FromSingle values)"),
        };
        if (tensor.Count == 0) return;
        _queue.MemsetD32(Address(tensor), bits, tensor.Count);
    }

    public void Copy(Tensor source, Tensor destination)
    {
        Enter();
        if (source.DType != destination.DType || source.Count != destination.Count)
        {
            throw new ArgumentException($"copy from {source} to {destination}: dtype and count must match");
        }
        if (Overlap(source, destination) && source.Offset != destination.Offset)
        {
            // cuMemcpyDtoDAsync leaves overlapping ranges undefined.
            throw new ArgumentException($"copy from {source} to {destination}: the two views overlap in one storage; copy through a separate tensor");
        }
        if (source.Count == 0) return;
        _queue.CopyDeviceToDevice(Address(destination), Address(source), source.Count * source.DType.SizeInBytes());
    }

    public void Synchronize()
    {
        Enter();
        _queue.Synchronize();
    }

    // ---- helpers shared by the launchers -------------------------------------------------

    /// <summary>Checks the backend is alive and makes its context current on this thread (CUDA
    /// contexts are per thread, and tests or a data loader may call from several).</summary>
    private void Enter()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _queue.MakeCurrent();
    }

    private void CheckHostType<T>(string what, Tensor tensor) where T : unmanaged
    {
        bool matches = tensor.DType switch
        {
            DType.F32 => typeof(T) == typeof(float),
            DType.I32 => typeof(T) == typeof(int),
            DType.BF16 => typeof(T) == typeof(ushort),
            _ => false,
        };
        if (!matches) throw new ArgumentException($"{what}: {tensor} holds {tensor.DType}, not {typeof(T).Name}");
    }

    /// <summary>The device address of a tensor's first element.</summary>
    private ulong Address(Tensor t)
    {
        if (t.Storage is not CudaStorage storage || !ReferenceEquals(storage.Backend, this))
        {
            throw new ArgumentException($"{t} is not a tensor of {Name}");
        }
        return storage.Pointer + (ulong)(t.Offset * t.DType.SizeInBytes());
    }

    /// <summary>A float tensor's first element, for a kernel argument.</summary>
    private DevicePointer F32(Tensor t, [CallerArgumentExpression(nameof(t))] string? name = null)
    {
        if (t.DType != DType.F32) throw new ArgumentException($"{Name}: {name} must be F32, got {t}");
        return new(Address(t));
    }

    private DevicePointer F32OrNull(Tensor? t, [CallerArgumentExpression(nameof(t))] string? name = null) =>
        t is null ? DevicePointer.Null : F32(t, name);

    /// <summary>A backward kernel's accumulate argument for gradient <paramref name="g"/>
    /// (igc_write_grad): 0 when g is unwritten, so that the kernel overwrites it whole and no memset
    /// precedes it; 1 when it accumulates. Taken at the launch, so the order of launches decides.</summary>
    private static int AccumulateFlag(Tensor g) => g.TakeUnwritten() ? 0 : 1;

    /// <summary>Zeroes the unwritten gradients among these, where the work only accumulates (the
    /// weight-gradient reductions; parameters' gradients are views of the zeroed flat buffer, so in a
    /// training step this finds nothing) or writes nothing (an empty sum).</summary>
    private void ZeroUnwritten(params ReadOnlySpan<Tensor?> gradients)
    {
        foreach (var g in gradients)
            if (g is not null && g.TakeUnwritten() && g.Count > 0) _queue.MemsetD32(Address(g), 0, g.Count);
    }

    private DevicePointer I32(Tensor t, [CallerArgumentExpression(nameof(t))] string? name = null)
    {
        if (t.DType != DType.I32) throw new ArgumentException($"{Name}: {name} must be I32, got {t}");
        return new(Address(t));
    }

    /// <summary>Kernels index with int: every tensor and workspace must hold fewer than 2^31 elements.</summary>
    private static int CheckedCount(string op, long count, string what)
    {
        if (count >= int.MaxValue) throw new NotSupportedException($"{op}: {what} has {count} elements; the CUDA kernels index with 32-bit ints (< 2^31)");
        return (int)count;
    }

    private int Multiprocessors => _queue.Multiprocessors;

    /// <summary>
    /// Device scratch memory for one launch sequence, from the caching allocator. Disposed as soon
    /// as the sequence is queued: the block can only be handed to a later op, whose work the single
    /// stream runs after this sequence's.
    /// </summary>
    private Workspace Scratch(string op, long elements, int elementBytes)
    {
        CheckedCount(op, elements, "the workspace");
        return new Workspace(_allocator, elements == 0 ? 0 : _allocator.Allocate(elements * elementBytes));
    }

    private ulong _tickets;
    private int _ticketCapacity;

    /// <summary>
    /// At least <paramref name="count"/> last-block ticket counters (igc_last_block in
    /// igc_common.cuh: each 0 between launches, since the launch that uses it wraps it back to 0),
    /// zeroed once and held for the backend's life straight from the allocator: a Storage made
    /// inside a step would be released with the step's temporaries, and a captured CUDA graph keeps
    /// their address. One set serves every launch, which the stream runs one after another. A larger
    /// set replaces a smaller one only when a launch needs more (in a step's first, eager run, before
    /// any capture); the smaller stays allocated, as a graph captured earlier may still use it.
    /// </summary>
    /// <summary>The eight IgcBatchStats arguments (igc_common.cuh) that close a forward's argument
    /// list: none asked for (the partial pointer null; the kernel ignores the rest).</summary>
    private static readonly KernelArg[] NoBatchStatistics = [DevicePointer.Null, DevicePointer.Null, DevicePointer.Null,
        DevicePointer.Null, DevicePointer.Null, DevicePointer.Null, 0f, 0f];

    /// <summary>The IgcBatchStats arguments for <paramref name="statistics"/>: the per-block partials,
    /// <paramref name="counters"/> ticket counters, the running and the saved statistics, momentum, ε.</summary>
    private KernelArg[] BatchStatisticsArguments(DevicePointer partial, int counters, BatchStatistics statistics) =>
        [partial, Tickets(counters), F32(statistics.RunningMean), F32(statistics.RunningVar),
         F32(statistics.SaveMean), F32(statistics.SaveInvStd), (float)statistics.Momentum, (float)statistics.Epsilon];

    /// <summary>The device bytes the ticket counters hold for the backend's life (0 before first use).</summary>
    internal long TicketCounterBytes => _tickets == 0 ? 0 : CachingAllocator.RoundedSize((long)_ticketCapacity * sizeof(uint));

    private DevicePointer Tickets(int count)
    {
        if (count > _ticketCapacity)
        {
            int capacity = Math.Max(count, 1024);
            _tickets = _allocator.Allocate((long)capacity * sizeof(uint));
            _queue.MemsetD32(_tickets, 0, capacity);
            _ticketCapacity = capacity;
        }
        return new(_tickets);
    }

    private readonly struct Workspace(CachingAllocator allocator, ulong pointer) : IDisposable
    {
        public DevicePointer Pointer => new(pointer);

        public void Dispose()
        {
            if (pointer != 0) allocator.Release(pointer);
        }
    }

    /// <summary>Queues <paramref name="kernel"/> on the stream with 256-thread blocks, after
    /// checking the arguments against its declared parameter kinds.</summary>
    private void Launch(KernelSignature kernel, Dim3 grid, params ReadOnlySpan<KernelArg> args)
    {
        if (args.Length != kernel.Parameters.Length)
        {
            throw new InvalidOperationException($"{kernel}: launched with {args.Length} arguments");
        }
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i].Kind != kernel.Parameters[i]) throw new InvalidOperationException($"{kernel}: argument {i} is {args[i].Kind}");
        }
        if (grid.X == 0 || grid.Y == 0 || grid.Z == 0 || grid.X > int.MaxValue || grid.Y > 65535 || grid.Z > 65535)
        {
            throw new InvalidOperationException($"{kernel.Name}: grid {grid} outside the CUDA limits (x in [1, 2^31), y and z in [1, 65535])");
        }
        _queue.Launch(kernel, grid, args);
    }

    public void Dispose()
    {
        if (_disposed) return;
        try
        {
            _queue.MakeCurrent();
            _queue.Synchronize();
        }
        catch (Exception e) when (e is CudaInteropException or Emulation.EmulatedKernelException or Engine.Distributed.CommunicatorAbortedException)
        {
            // A failed kernel leaves the context in an error state, and a collective still queued
            // when its group gave up fails where the stream reaches it; still release what we can.
        }
        _disposed = true;
        _computeReady?.Dispose();
        _collectivesDone?.Dispose();
        _allocator.Dispose();
        _queue.Dispose();
    }
}
