namespace Igcv3.Engine.Distributed;

/// <summary>How an all-reduce combines the ranks' buffers.</summary>
public enum ReduceOp { Sum, Average }

/// <summary>
/// The collectives of data-parallel training between the ranks of one group, on F32 tensors of
/// the rank's own backend, in place. Every rank must call the same collectives in the same order
/// with tensors of the same count (as with NCCL, MPI): that is what matches them up. A call is
/// stream-ordered: it returns once the operation is queued after the rank's earlier work on its
/// device (for the in-process communicator over threads, once it is done), so a value read
/// afterwards (Download) is the reduced one.
/// <para>A rank that fails calls <see cref="Abort"/>: every rank waiting in or entering a collective
/// then throws a <see cref="CommunicatorAbortedException"/> naming the failed rank and its error,
/// instead of waiting for a partner that will never come.</para>
/// </summary>
public interface ICommunicator : IDisposable
{
    /// <summary>This rank, in [0, <see cref="Size"/>).</summary>
    int Rank { get; }

    /// <summary>The number of ranks (the world size).</summary>
    int Size { get; }

    /// <summary>What the communicator is, for the run's first lines ("threads", "nccl 2.21.5").</summary>
    string Description { get; }

    /// <summary>buffer ← Σ over ranks (or the mean) of every rank's buffer, identical bits on every rank.</summary>
    void AllReduce(Tensor buffer, ReduceOp op);

    /// <summary><see cref="AllReduce"/> without ordering the rank's later device work after it: on a
    /// GPU it runs on the communication stream beside the work queued next, until
    /// <see cref="JoinStarted"/>. Until then the buffer must stay allocated and later work must
    /// neither read nor write it (a gradient bucket that backward has finished with).</summary>
    void StartAllReduce(Tensor buffer, ReduceOp op);

    /// <summary>Orders the rank's later device work after every collective started so far (before
    /// the optimizer reads the gradients).</summary>
    void JoinStarted();

    /// <summary>buffer ← the buffer of rank <paramref name="root"/>, on every rank.</summary>
    void Broadcast(Tensor buffer, int root);

    /// <summary>Returns once every rank has called it.</summary>
    void Barrier();

    /// <summary>Gives up on the group because this rank failed with <paramref name="reason"/>: the
    /// other ranks' collectives fail instead of hanging. Idempotent; never throws.</summary>
    void Abort(string reason);
}

/// <summary>A collective failed because a rank gave up (or never came): names which, and why.</summary>
public sealed class CommunicatorAbortedException(string message, Exception? inner = null) : Exception(message, inner);
