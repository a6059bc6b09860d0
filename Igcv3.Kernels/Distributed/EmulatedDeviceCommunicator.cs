using Igcv3.Engine;
using Igcv3.Engine.Distributed;
using Igcv3.Kernels.Cuda;

namespace Igcv3.Kernels.Distributed;

/// <summary>
/// <see cref="ICommunicator"/> for CUDA backends on emulated devices, whose memory is host memory:
/// the stream logic of the NCCL communicator (<see cref="CudaBackend.StartCollective"/>: the
/// communication stream, the events either way), with the collective itself done by the
/// in-process <see cref="ThreadCommunicatorGroup"/> (its rank-order reduction in double, so the
/// same bits as <see cref="ThreadCommunicator"/>) when the emulated communication stream runs it.
/// So <c>train --device emulated --gpus 0,1</c> runs the real launchers, gradient buckets, streams
/// and events without a GPU or NCCL. A rank that fails aborts the group: the others' collectives
/// throw <see cref="CommunicatorAbortedException"/> where their streams reach them.
/// </summary>
public sealed class EmulatedDeviceCommunicator : ICommunicator
{
    private readonly CudaBackend _backend;
    private readonly ThreadCommunicatorGroup _group;

    private EmulatedDeviceCommunicator(CudaBackend backend, ThreadCommunicatorGroup group, int rank)
    {
        _backend = backend;
        _group = group;
        Rank = rank;
    }

    /// <summary>One communicator per backend (rank i on backends[i]), joined in one group.</summary>
    public static EmulatedDeviceCommunicator[] CreateGroup(IReadOnlyList<CudaBackend> backends, TimeSpan? timeout = null)
    {
        var group = new ThreadCommunicatorGroup(backends.Count, timeout);
        return [.. backends.Select((b, i) => new EmulatedDeviceCommunicator(b, group, i))];
    }

    public int Rank { get; }

    public int Size => _group.Size;

    public string Description => $"emulated devices' communicator ({Size} ranks in this process, on the communication stream)";

    public void AllReduce(Tensor buffer, ReduceOp op)
    {
        StartAllReduce(buffer, op);
        JoinStarted();
    }

    public void StartAllReduce(Tensor buffer, ReduceOp op) => _backend.StartCollective(buffer, new CollectiveCall($"all-reduce of {buffer.Count} values", null,
        values => _group.AllReduce(Rank, values.ToArray(), op).CopyTo(values)));

    public void JoinStarted() => _backend.JoinCollectives();

    public void Broadcast(Tensor buffer, int root)
    {
        _backend.StartCollective(buffer, new CollectiveCall($"broadcast of {buffer.Count} values from rank {root}", null,
            values => _group.Broadcast(Rank, values.ToArray(), root).CopyTo(values)));
        JoinStarted();
    }

    /// <summary>Once this rank's streams are done (its collectives included), as NCCL's barrier waits for its all-reduce.</summary>
    public void Barrier()
    {
        _backend.Synchronize();
        _group.Barrier(Rank);
    }

    public void Abort(string reason) => _group.Abort(Rank, reason);

    public void Dispose() { }
}
