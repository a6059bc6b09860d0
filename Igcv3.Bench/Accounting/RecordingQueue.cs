using System.Runtime.InteropServices;
using Igcv3.Engine;
using Igcv3.Kernels;
using Igcv3.Kernels.Cuda;
using Igcv3.Kernels.Emulation;
using static Igcv3.Kernels.Interop;

namespace Igcv3.Bench.Accounting;

/// <summary>
/// An <see cref="ICudaQueue"/> without a GPU, for checking the CUDA backend's launchers offline:
/// device memory is host memory at fake 256-byte-aligned addresses (so memsets, copies and
/// downloads work), kernel launches are recorded (not run, but for the channel shuffle, which is
/// simple enough to interpret from its formula), and SGEMMs are interpreted
/// (<see cref="SgemmInterpreter"/>), every matrix bounds-checked against its block. Both streams'
/// calls run as they are queued; <see cref="Timeline"/> keeps their order (launches, event records
/// and waits, collectives), so a test can check what orders a collective against the kernels.
/// </summary>
internal sealed class RecordingQueue : ICudaQueue
{
    public sealed record Launched(string Kernel, Dim3 Grid, ArgKind[] Kinds, ulong[] Bits)
    {
        public int Int(int i) => Kinds[i] == ArgKind.Int32 ? (int)(uint)Bits[i] : throw new InvalidOperationException($"{Kernel}: argument {i} is {Kinds[i]}");

        public float Float(int i) => Kinds[i] == ArgKind.Float32 ? BitConverter.UInt32BitsToSingle((uint)Bits[i]) : throw new InvalidOperationException($"{Kernel}: argument {i} is {Kinds[i]}");

        public ulong Pointer(int i) => Kinds[i] == ArgKind.Pointer ? Bits[i] : throw new InvalidOperationException($"{Kernel}: argument {i} is {Kinds[i]}");
    }

    private readonly SortedDictionary<ulong, byte[]> _blocks = [];
    private ulong _next = 0x10000;

    public RecordingQueue(int multiprocessors = 132) => Multiprocessors = multiprocessors;

    public List<Launched> Launches { get; } = [];

    /// <summary>SGEMMs interpreted (each matrix of a batched call counts).</summary>
    public int Gemms { get; private set; }

    public int Multiprocessors { get; }

    /// <summary>A backend over this queue, its allocator handing out blocks of this fake memory;
    /// past <paramref name="memoryLimit"/> bytes held, "cuMemAlloc" fails as the driver does.</summary>
    public CudaBackend Backend(long memoryLimit = long.MaxValue) => new(this, new CachingAllocator(
        bytes =>
        {
            // As the driver does in a thread-local capture: an allocation would invalidate it.
            if (Capturing) throw new CudaException("cuMemAlloc_v2(out ulong pointer, checked((nuint)bytes))", 900, "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED", "operation not permitted when stream is capturing");
            if (memoryLimit != long.MaxValue && _blocks.Values.Sum(b => (long)b.Length) + bytes > memoryLimit)
            {
                throw new CudaException("cuMemAlloc_v2(out ulong pointer, checked((nuint)bytes))", 2, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory");
            }
            ulong address = _next;
            _blocks.Add(address, new byte[bytes]);
            _next += (ulong)(bytes + 256 + 255) / 256 * 256; // a gap: an overrun does not land in the next block
            return address;
        },
        address => _blocks.Remove(address),
        () => { }), "cuda:recording");

    /// <summary>A tensor of <paramref name="backend"/> holding <paramref name="values"/>: a view at a
    /// non-zero, non-16-byte-aligned offset (3 floats) of a larger storage, so that a launcher that
    /// forgets the offset, or a kernel that assumes alignment, is caught.</summary>
    public static Tensor UnalignedView(CudaBackend backend, float[] values, params int[] shape)
    {
        const int offset = 3;
        var storage = backend.Allocate(DType.F32, values.Length + offset + 2);
        var view = Tensor.View(storage, offset, new Shape(shape));
        backend.Upload<float>(values, view);
        return view;
    }

    /// <summary>The size in bytes of the block that <paramref name="address"/> starts or lies in, from that address on.</summary>
    public long BytesFrom(ulong address)
    {
        var (start, block) = Block(address);
        return block.Length - (long)(address - start);
    }

    private (ulong Start, byte[] Block) Block(ulong address)
    {
        foreach (var (start, block) in _blocks)
        {
            if (address >= start && address < start + (ulong)block.Length) return (start, block);
        }
        throw new InvalidOperationException($"0x{address:x} is not in any allocated block");
    }

    private Span<byte> Bytes(ulong address, long bytes)
    {
        var (start, block) = Block(address);
        long at = (long)(address - start);
        if (at + bytes > block.Length) throw new InvalidOperationException($"{bytes} bytes at 0x{address:x} run past the end of the block of {block.Length} at 0x{start:x}");
        return block.AsSpan((int)at, (int)bytes);
    }

    private Span<float> Floats(ulong address, long count) => MemoryMarshal.Cast<byte, float>(Bytes(address, count * sizeof(float)));

    public void MakeCurrent() { }

    public void Launch(KernelSignature kernel, Dim3 grid, ReadOnlySpan<KernelArg> args)
    {
        var launched = new Launched(kernel.Name, grid, [.. args.ToArray().Select(a => a.Kind)], [.. args.ToArray().Select(a => a.Bits)]);
        for (int i = 0; i < args.Length; i++)
        {
            // Every non-null pointer a kernel gets must lie in memory the allocator handed out.
            if (args[i].Kind == ArgKind.Pointer && args[i].Bits != 0) _ = Block(args[i].Bits);
        }
        Launches.Add(launched);
        Timeline.Add(new LaunchQueued(Launches.Count - 1));
        if (kernel.Name is "channel_shuffle_forward" or "channel_shuffle_backward") Shuffle(launched, kernel.Name.EndsWith("backward"));
    }

    /// <summary>channel_shuffle_forward(x, y, rows, C, G): y[r, j·G + g] = x[r, g·(C/G) + j];
    /// channel_shuffle_backward(dy, dx, rows, C, G): its adjoint, accumulated into dx.</summary>
    private void Shuffle(Launched l, bool backward)
    {
        int rows = l.Int(2), c = l.Int(3), groups = l.Int(4);
        var source = Floats(l.Pointer(0), (long)rows * c).ToArray();
        var target = Floats(l.Pointer(1), (long)rows * c);
        for (int r = 0; r < rows; r++)
        {
            for (int s = 0; s < c; s++)
            {
                // The destination of source channel s under P(G).
                int d = groups > 1 ? s % (c / groups) * groups + s / (c / groups) : s;
                if (backward) target[r * c + s] += source[r * c + d];
                else target[r * c + d] = source[r * c + s];
            }
        }
    }

    /// <summary>One cuBLAS call: C[m,n] (+)= op(A)[m,k]·op(B)[k,n], <paramref name="Batch"/> times.</summary>
    public sealed record GemmCall(int M, int N, int K, float Beta, int Batch);

    /// <summary>The cuBLAS calls, in order (a batched call is one entry).</summary>
    public List<GemmCall> GemmCalls { get; } = [];

    public void Sgemm(Cublas.Operation transA, Cublas.Operation transB, int m, int n, int k,
        float alpha, ulong a, int lda, ulong b, int ldb, float beta, ulong c, int ldc)
    {
        Gemms++;
        GemmCalls.Add(new GemmCall(m, n, k, beta, 1));
        SgemmInterpreter.Sgemm(Floats, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    public void SgemmStridedBatched(Cublas.Operation transA, Cublas.Operation transB, int m, int n, int k,
        float alpha, ulong a, int lda, long strideA, ulong b, int ldb, long strideB, float beta, ulong c, int ldc, long strideC, int batchCount)
    {
        Gemms += batchCount;
        GemmCalls.Add(new GemmCall(m, n, k, beta, batchCount));
        SgemmInterpreter.SgemmStridedBatched(Floats, transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batchCount);
    }

    public void MemsetD32(ulong destination, uint value, long count)
    {
        Memsets++;
        MemsetBytes += count * 4;
        MemoryMarshal.Cast<byte, uint>(Bytes(destination, count * 4)).Fill(value);
    }

    public int Memsets { get; private set; }

    public long MemsetBytes { get; private set; }

    public unsafe void CopyHostToDevice(ulong destination, void* source, long bytes)
    {
        if (Capturing) throw StreamCapture.Refused(StreamCapture.Upload);
        new Span<byte>(source, (int)bytes).CopyTo(Bytes(destination, bytes));
    }

    public unsafe void CopyDeviceToHost(void* destination, ulong source, long bytes)
    {
        if (Capturing) throw StreamCapture.Refused(StreamCapture.Download);
        HostWaits++; // the host reads the bytes next, so it waits for the stream
        Bytes(source, bytes).CopyTo(new Span<byte>(destination, (int)bytes));
    }

    public void CopyDeviceToDevice(ulong destination, ulong source, long bytes)
    {
        DeviceCopies++;
        DeviceCopyBytes += bytes;
        Bytes(source, bytes).CopyTo(Bytes(destination, bytes));
    }

    public int DeviceCopies { get; private set; }

    /// <summary>Bytes copied device to device (each is read once and written once).</summary>
    public long DeviceCopyBytes { get; private set; }

    public void Synchronize()
    {
        if (Capturing) throw StreamCapture.Refused(StreamCapture.Wait);
        HostWaits++;
    }

    /// <summary>While true, launches are still recorded in <see cref="Launches"/> (they are the
    /// graph's content) and run as ever; a replay of the capture adds none, only one to <see cref="GraphLaunches"/>.</summary>
    public bool Capturing { get; private set; }

    /// <summary>Replays of captured work: one graph launch each.</summary>
    public int GraphLaunches { get; private set; }

    public void BeginCapture() => Capturing = !Capturing ? true : throw new InvalidOperationException("a capture is already in progress");

    public ICapturedWork EndCapture()
    {
        if (!Capturing) throw new InvalidOperationException("no capture is in progress");
        Capturing = false;
        return new GraphLaunch(this);
    }

    public void AbandonCapture() => Capturing = false;

    private sealed class GraphLaunch(RecordingQueue queue) : ICapturedWork
    {
        public void Replay() => queue.GraphLaunches++;

        public void Dispose() { }
    }

    /// <summary>The "device time" <see cref="TimeMilliseconds"/> reports for the kernels and
    /// SGEMMs (each matrix of a batch counts) that the timed work queued.</summary>
    public Func<IReadOnlyList<Launched>, int, double> TimingModel { get; set; } = (launches, gemms) => launches.Count + gemms;

    /// <summary>Calls of <see cref="TimeMilliseconds"/>.</summary>
    public int TimedRuns { get; private set; }

    public double TimeMilliseconds(Action enqueue)
    {
        if (Capturing) throw StreamCapture.Refused(StreamCapture.Timing);
        int launches = Launches.Count, gemms = Gemms;
        enqueue();
        TimedRuns++;
        HostWaits++; // the host waits for the end event
        return TimingModel(Launches.GetRange(launches, Launches.Count - launches), Gemms - gemms);
    }

    /// <summary>A call on one of the queue's streams, in <see cref="Timeline"/>.</summary>
    public abstract record StreamCall(QueueStream Stream);

    /// <summary>Launch number <paramref name="Index"/> of <see cref="Launches"/>, on the compute stream.</summary>
    public sealed record LaunchQueued(int Index) : StreamCall(QueueStream.Compute);

    public sealed record EventRecorded(QueueStream Stream, int Event) : StreamCall(Stream);

    public sealed record EventWaited(QueueStream Stream, int Event) : StreamCall(Stream);

    /// <summary>A collective over <paramref name="Count"/> floats at <paramref name="Address"/>, on the communication stream.</summary>
    public sealed record CollectiveQueued(string What, ulong Address, long Count) : StreamCall(QueueStream.Communication);

    /// <summary>Kernel launches, event records and waits, and collectives, in the order queued.</summary>
    public List<StreamCall> Timeline { get; } = [];

    private int _events;

    private sealed class Event(int id) : IQueueEvent
    {
        public int Id => id;

        public void Dispose() { }
    }

    public IQueueEvent CreateEvent() => new Event(++_events);

    public void RecordEvent(IQueueEvent evt, QueueStream stream) => Timeline.Add(new EventRecorded(stream, ((Event)evt).Id));

    public void WaitEvent(QueueStream stream, IQueueEvent evt) => Timeline.Add(new EventWaited(stream, ((Event)evt).Id));

    /// <summary>Recorded, then run at once on the fake memory (the in-process communicator's call).</summary>
    public void Collective(ulong address, long count, CollectiveCall call)
    {
        Timeline.Add(new CollectiveQueued(call.What, address, count));
        call.ForHostMemory(Floats(address, count));
    }

    /// <summary>Times the host waited for the device: synchronisations and device-to-host copies.</summary>
    public int HostWaits { get; private set; }

    public void Dispose() { }
}
