using Igcv3.Engine;

namespace Igcv3.Kernels.Cuda;

// Collectives on the communication stream, ordered against the compute stream by two events:
// the same for NCCL on a GPU and for the in-process communicator on the emulated device.
public sealed partial class CudaBackend
{
    private IQueueEvent? _computeReady, _collectivesDone;

    /// <summary>Queues <paramref name="call"/> over <paramref name="tensor"/> on the communication
    /// stream, after the work queued so far on the compute stream (an event recorded there, waited
    /// on there). The compute stream's later work is NOT ordered after it until
    /// <see cref="JoinCollectives"/>: backward goes on while a bucket's all-reduce runs. So the
    /// tensor must stay allocated, and unread and unwritten by later work, until the join.</summary>
    internal void StartCollective(Tensor tensor, CollectiveCall call)
    {
        Enter();
        if (tensor.DType != DType.F32) throw new ArgumentException($"{call.What}: collectives take F32 tensors, got {tensor}");
        _computeReady ??= _queue.CreateEvent();
        _collectivesDone ??= _queue.CreateEvent();
        _queue.RecordEvent(_computeReady, QueueStream.Compute);
        _queue.WaitEvent(QueueStream.Communication, _computeReady);
        _queue.Collective(Address(tensor), tensor.Count, call);
        _queue.RecordEvent(_collectivesDone, QueueStream.Communication);
    }

    /// <summary>Orders the compute stream's later work after every collective started so far (one
    /// event: the communication stream runs its collectives in order).</summary>
    internal void JoinCollectives()
    {
        Enter();
        if (_collectivesDone is { } done) _queue.WaitEvent(QueueStream.Compute, done);
    }

    /// <summary>Runs <paramref name="call"/> with this backend's context current (ncclCommInitRank binds the communicator to that device).</summary>
    internal void InContext(Action call)
    {
        Enter();
        call();
    }
}
