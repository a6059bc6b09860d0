using System.Diagnostics;
using System.Runtime.InteropServices;
using Igcv3.Kernels.Cuda;
using static Igcv3.Kernels.Interop;

namespace Igcv3.Kernels.Emulation;

/// <summary>
/// An <see cref="ICudaQueue"/> that really runs the kernels, on the CPU: each launch goes, with the
/// grid and the argument slots exactly as <see cref="CudaBackend"/>'s launchers built them, to the
/// emulated device (<see cref="EmulatedDeviceLibrary"/>), which runs every block and thread of the
/// grid to completion before returning. Device memory is the library's guarded host memory; memsets
/// and copies are bounds-checked against the allocation they touch, and cuBLAS's SGEMMs are
/// interpreted (<see cref="SgemmInterpreter"/>). Work is done when a call returns, so there is
/// nothing to synchronise, and "device time" is the host's wall-clock time of the emulation.
/// A failed launch throws <see cref="EmulatedKernelException"/> naming the kernel, the launch and
/// what went wrong.
/// <para>Stream capture records each launch (kernel, grid, argument bits), SGEMM, memset and
/// device-to-device copy as it is queued, without running it, and a replay runs them again in
/// order, bounds- and address-checked at each run as a first run is: so that CI checks, without a
/// GPU, that a replayed step computes what an eager one does, and that nothing it touches was
/// freed in between.</para>
/// <para>The communication stream runs as late as a GPU may run it: its work waits, in order, until
/// the compute stream waits on an event recorded after it, or the host synchronises. So a step that
/// uses a collective's result without waiting for its event uses the values from before it, as a
/// GPU may. And each piece of it, when it runs, is checked against the compute work it is not
/// ordered after (queued after the latest compute event the communication stream waited on): a
/// kernel, SGEMM, copy or memset among them with an argument or range inside the collective's
/// buffer is a race on a GPU, and fails here naming both. (A kernel's footprint is the addresses of
/// its pointer arguments: the launch contracts do not say how far it reaches from them.)</para>
/// </summary>
internal sealed unsafe class EmulatedQueue(EmulatedDeviceLibrary device, int multiprocessors = 8) : ICudaQueue
{
    private long _launches;
    private List<Action>? _captured; // null: not capturing

    /// <summary>The compute stream's work that touched device memory, kept while the communication
    /// stream may run unordered with it (at most <see cref="HistoryLimit"/> ranges).</summary>
    private readonly List<Touch> _touches = [];
    private const int HistoryLimit = 1 << 16;
    private readonly List<PendingCollective> _pending = [];
    private long _computeCalls;        // compute-stream calls run so far
    private long _communicationHorizon; // the compute calls the communication stream has waited for
    private long _historyStart = -1;    // the first compute call whose touches are kept; -1: the communication stream is unused
    private long _collectivesQueued;

    private readonly record struct Touch(long Call, string What, ulong Start, long Bytes);

    private sealed record PendingCollective(long Number, long Horizon, ulong Address, long Count, CollectiveCall Call);

    private sealed class Event : IQueueEvent
    {
        public QueueStream? Stream; // null: never recorded
        public long Mark;           // compute calls run, or collectives queued, when it was recorded

        public void Dispose() { }
    }

    /// <summary>A CUDA backend over a new emulated queue. Its allocator does not cache, so every
    /// tensor has its own guarded allocation, ending at its last element.</summary>
    public static CudaBackend Backend(EmulatedDeviceLibrary device)
    {
        var queue = new EmulatedQueue(device);
        return new CudaBackend(queue, new CachingAllocator(device.Allocate, device.Free, () => { }, caching: false), "cuda:emulated (kernels-cu on the CPU)");
    }

    /// <summary>Small, so that the split reductions the launchers size by it run few blocks, but
    /// more than one, so that their partial sums and reductions are exercised.</summary>
    public int Multiprocessors { get; } = multiprocessors;

    /// <summary>Kernels launched so far; a failure names its number.</summary>
    public long Launches => _launches;

    public void MakeCurrent() { }

    public void Launch(KernelSignature kernel, Dim3 grid, ReadOnlySpan<KernelArg> args)
    {
        if (_captured is not null)
        {
            var copy = args.ToArray();
            _captured.Add(() => Run(kernel, grid, copy));
            return;
        }
        Run(kernel, grid, args);
    }

    private void Run(KernelSignature kernel, Dim3 grid, ReadOnlySpan<KernelArg> args)
    {
        long number = ++_launches;
        Span<ulong> slots = stackalloc ulong[args.Length];
        for (int i = 0; i < args.Length; i++)
        {
            slots[i] = args[i].Bits;
            if (args[i].Kind == ArgKind.Pointer && args[i].Bits != 0 && device.BytesFrom(args[i].Bits) < 0)
            {
                throw new EmulatedKernelException($"kernel {kernel.Name} (launch #{number}): argument {i}, 0x{args[i].Bits:x}, is not in device memory");
            }
        }
        _computeCalls++;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i].Kind == ArgKind.Pointer && args[i].Bits != 0) Touched(kernel.Name, args[i].Bits, 1);
        }
        string? failure = device.Launch(kernel, grid, DriverQueue.BlockThreads, slots);
        if (failure is not null) throw new EmulatedKernelException($"kernel {kernel.Name} (launch #{number}, grid {grid.X}x{grid.Y}x{grid.Z}) failed on the emulated device: {failure}");
    }

    public void Sgemm(Cublas.Operation transA, Cublas.Operation transB, int m, int n, int k,
        float alpha, ulong a, int lda, ulong b, int ldb, float beta, ulong c, int ldc) =>
        RunOrCapture(() =>
        {
            Computed("cuBLAS sgemm", (a, 1), (b, 1), (c, 1));
            SgemmInterpreter.Sgemm(Floats, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        });

    public void SgemmStridedBatched(Cublas.Operation transA, Cublas.Operation transB, int m, int n, int k,
        float alpha, ulong a, int lda, long strideA, ulong b, int ldb, long strideB, float beta, ulong c, int ldc, long strideC, int batchCount) =>
        RunOrCapture(() =>
        {
            Computed("cuBLAS sgemm (strided batched)", (a, 1), (b, 1), (c, 1));
            SgemmInterpreter.SgemmStridedBatched(Floats, transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batchCount);
        });

    public void MemsetD32(ulong destination, uint value, long count) =>
        RunOrCapture(() =>
        {
            Computed("cuMemsetD32", (destination, count * 4));
            MemoryMarshal.Cast<byte, uint>(Bytes("cuMemsetD32", destination, count * 4)).Fill(value);
        });

    public void CopyHostToDevice(ulong destination, void* source, long bytes)
    {
        if (_captured is not null) throw StreamCapture.Refused(StreamCapture.Upload);
        Computed("cuMemcpyHtoD", (destination, bytes));
        new ReadOnlySpan<byte>(source, checked((int)bytes)).CopyTo(Bytes("cuMemcpyHtoD", destination, bytes));
    }

    public void CopyDeviceToHost(void* destination, ulong source, long bytes)
    {
        if (_captured is not null) throw StreamCapture.Refused(StreamCapture.Download);
        Computed("cuMemcpyDtoH", (source, bytes));
        Bytes("cuMemcpyDtoH", source, bytes).CopyTo(new Span<byte>(destination, checked((int)bytes)));
    }

    public void CopyDeviceToDevice(ulong destination, ulong source, long bytes) =>
        RunOrCapture(() =>
        {
            Computed("cuMemcpyDtoD", (source, bytes), (destination, bytes));
            Bytes("cuMemcpyDtoD", source, bytes).CopyTo(Bytes("cuMemcpyDtoD", destination, bytes));
        });

    public void Synchronize()
    {
        if (_captured is not null) throw StreamCapture.Refused(StreamCapture.Wait);
        RunCollectives(_collectivesQueued);
    }

    public IQueueEvent CreateEvent() => new Event();

    public void RecordEvent(IQueueEvent evt, QueueStream stream)
    {
        var e = (Event)evt;
        RunOrCapture(() =>
        {
            if (stream == QueueStream.Communication) UseCommunication();
            (e.Stream, e.Mark) = (stream, stream == QueueStream.Compute ? _computeCalls : _collectivesQueued);
        });
    }

    public void WaitEvent(QueueStream stream, IQueueEvent evt)
    {
        var e = (Event)evt;
        RunOrCapture(() =>
        {
            if (e.Stream is null || e.Stream == stream) return; // never recorded, or the stream's own order
            if (stream == QueueStream.Communication)
            {
                UseCommunication();
                _communicationHorizon = Math.Max(_communicationHorizon, e.Mark);
            }
            else
            {
                RunCollectives(e.Mark);
            }
        });
    }

    public void Collective(ulong address, long count, CollectiveCall call)
    {
        _ = call.ForHostMemory; // a communicator for another kind of queue fails now, not when the stream runs
        RunOrCapture(() =>
        {
            UseCommunication();
            _pending.Add(new PendingCollective(++_collectivesQueued, _communicationHorizon, address, count, call));
        });
    }

    /// <summary>The communication stream's first use: from here on the compute stream's touches are kept.</summary>
    private void UseCommunication()
    {
        if (_historyStart < 0) _historyStart = _computeCalls + 1;
    }

    /// <summary>Runs the queued collectives up to number <paramref name="upTo"/>, each checked against
    /// the compute work it is not ordered after. A failure drops the rest (the stream is broken).</summary>
    private void RunCollectives(long upTo)
    {
        try
        {
            while (_pending.Count > 0 && _pending[0].Number <= upTo)
            {
                var c = _pending[0];
                CheckOrdered(c);
                c.Call.ForHostMemory(MemoryMarshal.Cast<byte, float>(Bytes(c.Call.What, c.Address, c.Count * sizeof(float))));
                _pending.RemoveAt(0);
            }
        }
        catch
        {
            _pending.Clear();
            throw;
        }
        ForgetOrderedTouches();
    }

    private void CheckOrdered(PendingCollective c)
    {
        if (c.Horizon + 1 < _historyStart)
        {
            throw new EmulatedKernelException($"{c.Call.What} on the communication stream is not ordered after the compute stream's earlier work (no event wait since compute call #{c.Horizon}): record an event on the compute stream and make the communication stream wait on it first");
        }
        ulong end = c.Address + (ulong)(c.Count * sizeof(float));
        foreach (var t in _touches)
        {
            if (t.Call <= c.Horizon || t.Start >= end || t.Start + (ulong)t.Bytes <= c.Address) continue;
            throw new EmulatedKernelException($"{c.Call.What} on the communication stream (its buffer at 0x{c.Address:x}) is not ordered against {t.What} (compute call #{t.Call}, at 0x{t.Start:x}), which touches that buffer: "
                + "a collective must wait on an event recorded after the work that writes its buffer, and work that uses its result on an event recorded after it");
        }
    }

    private void ForgetOrderedTouches()
    {
        long oldest = _pending.Count > 0 ? _pending[0].Horizon : _communicationHorizon;
        _touches.RemoveAll(t => t.Call <= oldest);
    }

    private void Touched(string what, ulong start, long bytes)
    {
        if (_historyStart < 0) return;
        if (_touches.Count == HistoryLimit)
        {
            _touches.RemoveRange(0, HistoryLimit / 2);
            _historyStart = _touches[0].Call;
        }
        _touches.Add(new Touch(_computeCalls, what, start, bytes));
    }

    /// <summary>One compute-stream call other than a launch, touching <paramref name="ranges"/>.</summary>
    private void Computed(string what, params ReadOnlySpan<(ulong Start, long Bytes)> ranges)
    {
        _computeCalls++;
        foreach (var (start, bytes) in ranges) Touched(what, start, bytes);
    }

    public void BeginCapture()
    {
        if (_captured is not null) throw new InvalidOperationException("a stream capture is already in progress");
        _captured = [];
    }

    public ICapturedWork EndCapture()
    {
        var calls = _captured ?? throw new InvalidOperationException("no stream capture is in progress");
        _captured = null;
        return new Replayed([.. calls]);
    }

    public void AbandonCapture() => _captured = null;

    private void RunOrCapture(Action call)
    {
        if (_captured is not null) _captured.Add(call);
        else call();
    }

    /// <summary>The captured calls, run again in their order at each replay.</summary>
    private sealed class Replayed(Action[] calls) : ICapturedWork
    {
        private bool _disposed;

        public void Replay()
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            foreach (var call in calls) call();
        }

        public void Dispose() => _disposed = true;
    }

    public double TimeMilliseconds(Action enqueue)
    {
        if (_captured is not null) throw StreamCapture.Refused(StreamCapture.Timing);
        long start = Stopwatch.GetTimestamp();
        enqueue();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    public void Dispose() => _pending.Clear();

    private Span<float> Floats(ulong address, long count) => MemoryMarshal.Cast<byte, float>(Bytes("cuBLAS", address, count * sizeof(float)));

    /// <summary>The device bytes [address, address + bytes), which must lie in one allocation.</summary>
    private Span<byte> Bytes(string call, ulong address, long bytes)
    {
        long available = device.BytesFrom(address);
        if (available < 0) throw new EmulatedKernelException($"{call}: 0x{address:x} is not in device memory");
        if (bytes > available) throw new EmulatedKernelException($"{call}: {bytes} bytes at 0x{address:x} run {bytes - available} bytes past the end of its allocation");
        return new Span<byte>((void*)address, checked((int)bytes));
    }
}

/// <summary>A kernel, copy or SGEMM that did something on the emulated device that would be a
/// fault or undefined on a GPU.</summary>
public sealed class EmulatedKernelException(string message) : InvalidOperationException(message);
