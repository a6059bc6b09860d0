using Igcv3.Engine;
using Igcv3.Engine.Distributed;
using Igcv3.Kernels.Cuda;

namespace Igcv3.Kernels.Distributed;

/// <summary>
/// <see cref="ICommunicator"/> over NCCL for one rank on one GPU: every collective is queued on
/// the communication stream of that rank's <see cref="CudaBackend"/>, after an event recorded
/// behind the kernels that wrote its tensor (so the host does not wait); the compute stream waits
/// for it at once (<see cref="AllReduce"/>, <see cref="Broadcast"/>) or when the step joins
/// (<see cref="StartAllReduce"/>, <see cref="JoinStarted"/>). A watchdog polls ncclCommGetAsyncError once a
/// second: a peer that died or a broken link aborts the communicator, so a rank blocked on its
/// stream gets an error instead of waiting forever; <see cref="Abort"/> does the same for a
/// failure this process saw first.
/// </summary>
public sealed class NcclCommunicator : ICommunicator
{
    private readonly CudaBackend _backend;
    private readonly Timer _watchdog;
    private readonly object _lock = new();
    private nint _comm;
    private string? _aborted;

    private NcclCommunicator(CudaBackend backend, nint comm, int size, int rank)
    {
        _backend = backend;
        _comm = comm;
        Size = size;
        Rank = rank;
        _watchdog = new Timer(_ => Watch(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    /// <summary>Why NCCL cannot be used here (the probe's words), or null when libnccl.so.2 loads. Never throws.</summary>
    public static string? Unavailable => NativeLibraries.TryLoad(Interop.Libraries.Nccl, out _, out string reason) ? null : reason;

    /// <summary>NCCL's version as text, for example "2.21.5".</summary>
    public static string VersionText()
    {
        int code = Interop.Nccl.Version();
        return code >= 10000 ? $"{code / 10000}.{code / 100 % 100}.{code % 100}" : $"{code / 1000}.{code / 100 % 10}.{code % 100}";
    }

    /// <summary>A new id for a group: made by rank 0 and passed to every other rank (NCCL_UNIQUE_ID_BYTES = 128 bytes).</summary>
    public static byte[] NewUniqueId()
    {
        var id = Interop.Nccl.GetUniqueId();
        return ((ReadOnlySpan<byte>)id).ToArray();
    }

    /// <summary>Joins the group named by <paramref name="uniqueId"/> with this process's ranks
    /// <paramref name="firstRank"/>.. of <paramref name="size"/>, one per backend's GPU, inside one
    /// ncclGroupStart/ncclGroupEnd (NCCL's way for one thread to initialise several devices).
    /// Returns once every rank of the world has joined; all local communicators exist before any
    /// worker starts, so a worker that fails later can abort all of them.</summary>
    public static NcclCommunicator[] CreateGroup(IReadOnlyList<CudaBackend> backends, byte[] uniqueId, int size, int firstRank)
    {
        if (uniqueId.Length != Interop.Nccl.UniqueIdBytes) throw new ArgumentException($"nccl: a unique id has {Interop.Nccl.UniqueIdBytes} bytes, got {uniqueId.Length}");
        var id = default(Interop.Nccl.UniqueId);
        uniqueId.CopyTo((Span<byte>)id);
        var comms = new nint[backends.Count];
        Interop.Nccl.GroupStart();
        try
        {
            for (int i = 0; i < backends.Count; i++)
            {
                int local = i;
                backends[i].InContext(() => comms[local] = Interop.Nccl.CommInitRank(size, id, firstRank + local));
            }
        }
        finally
        {
            Interop.Nccl.GroupEnd();
        }
        return [.. backends.Select((b, i) => new NcclCommunicator(b, comms[i], size, firstRank + i))];
    }

    public int Rank { get; }

    public int Size { get; }

    public string Description => $"NCCL {VersionText()}";

    public void AllReduce(Tensor buffer, ReduceOp op)
    {
        StartAllReduce(buffer, op);
        JoinStarted();
    }

    public void StartAllReduce(Tensor buffer, ReduceOp op) => Queue(buffer, "all-reduce", (address, stream, comm) =>
        Interop.Nccl.AllReduce(address, address, buffer.Count, Interop.Nccl.DataType.Float32, op == ReduceOp.Average ? Interop.Nccl.RedOp.Avg : Interop.Nccl.RedOp.Sum, comm, stream));

    public void JoinStarted() => _backend.JoinCollectives();

    public void Broadcast(Tensor buffer, int root)
    {
        Queue(buffer, "broadcast", (address, stream, comm) =>
            Interop.Nccl.Broadcast(address, address, buffer.Count, Interop.Nccl.DataType.Float32, root, comm, stream));
        JoinStarted();
    }

    /// <summary>An all-reduce of one value, waited for.</summary>
    public void Barrier()
    {
        var one = Tensor.Zeros(_backend, [1]);
        AllReduce(one, ReduceOp.Sum);
        _backend.Synchronize();
        one.Storage.Dispose();
    }

    public void Abort(string reason)
    {
        lock (_lock)
        {
            if (_aborted is not null || _comm == 0) return;
            _aborted = reason;
            Interop.Nccl.CommAbort(_comm); // its status is of no use while giving up
            _comm = 0;
        }
    }

    public void Dispose()
    {
        _watchdog.Dispose();
        lock (_lock)
        {
            if (_comm == 0) return;
            Interop.Nccl.CommDestroy(_comm);
            _comm = 0;
        }
    }

    private void Queue(Tensor buffer, string what, Action<ulong, CudaStreamHandle, nint> call)
    {
        nint comm;
        lock (_lock)
        {
            if (_aborted is not null) throw new CommunicatorAbortedException($"rank {Rank} stopped before a {what}: {_aborted}");
            comm = _comm;
        }
        _backend.StartCollective(buffer, new CollectiveCall($"nccl {what} of {buffer.Count} values", (address, stream) => call(address, stream, comm), null));
    }

    /// <summary>On the timer's thread: never throws (that would end the process).</summary>
    private void Watch()
    {
        Interop.Nccl.Result error;
        lock (_lock)
        {
            if (_comm == 0) return;
            try
            {
                error = Interop.Nccl.AsyncError(_comm);
            }
            catch (NcclException e)
            {
                error = (Interop.Nccl.Result)e.Code;
            }
        }
        if (error is Interop.Nccl.Result.Success or Interop.Nccl.Result.InProgress) return;
        Abort($"NCCL reported nccl{error} ({Interop.Nccl.ErrorString(error)}) asynchronously: a peer rank died or the network failed");
    }
}
