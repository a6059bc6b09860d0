namespace Igcv3.Engine.Distributed;

/// <summary>
/// A communicator between threads of one process: the same contract as the NCCL one, so the
/// data-parallel logic runs (and is tested) on the CPU backend. Deterministic: each rank
/// deposits a copy of its buffer, and every rank reads the result that one thread summed in rank
/// order 0, 1, ..., W − 1 in double and rounded once, so the bits do not depend on which thread
/// arrived first. A wait longer than <see cref="ThreadCommunicatorGroup.Timeout"/> fails with
/// the names of the ranks still missing. (On the emulated device, the CUDA backend's ranks use
/// the same group through the emulated device's communicator.)
/// </summary>
public sealed class ThreadCommunicator : ICommunicator
{
    private readonly ThreadCommunicatorGroup _group;

    internal ThreadCommunicator(ThreadCommunicatorGroup group, int rank)
    {
        _group = group;
        Rank = rank;
    }

    public int Rank { get; }

    public int Size => _group.Size;

    public string Description => $"threads ({Size} ranks in this process)";

    public void AllReduce(Tensor buffer, ReduceOp op) => buffer.Backend.Upload<float>(_group.AllReduce(Rank, Host(buffer), op), buffer);

    /// <summary>Done when it returns: the tensors are the host's (or read through it).</summary>
    public void StartAllReduce(Tensor buffer, ReduceOp op) => AllReduce(buffer, op);

    public void JoinStarted() { }

    public void Broadcast(Tensor buffer, int root) => buffer.Backend.Upload<float>(_group.Broadcast(Rank, Host(buffer), root), buffer);

    public void Barrier() => _group.Barrier(Rank);

    public void Abort(string reason) => _group.Abort(Rank, reason);

    public void Dispose() { }

    private static float[] Host(Tensor buffer)
    {
        if (buffer.DType != DType.F32) throw new ArgumentException($"communicator: collectives take F32 tensors, got {buffer}");
        var host = new float[buffer.Count];
        buffer.Backend.Download<float>(buffer, host);
        return host;
    }
}

/// <summary>
/// The shared state of <see cref="ThreadCommunicator"/>s: one rendezvous per collective. Each
/// collective is a round: every rank deposits, the last to arrive computes the result once, and
/// every rank takes it; the next round starts when all have taken it.
/// </summary>
public sealed class ThreadCommunicatorGroup
{
    private readonly object _lock = new();
    private readonly float[]?[] _deposits;
    private readonly string?[] _what;
    private float[]? _result;
    private int _arrived, _taken;
    private long _round;
    private string? _abort;

    public ThreadCommunicatorGroup(int size, TimeSpan? timeout = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        Size = size;
        Timeout = timeout ?? TimeSpan.FromMinutes(10);
        _deposits = new float[size][];
        _what = new string[size];
        Communicators = Enumerable.Range(0, size).Select(r => new ThreadCommunicator(this, r)).ToArray();
    }

    public int Size { get; }

    /// <summary>How long a rank waits for the others in one collective before failing.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>The communicator of each rank, [Size].</summary>
    public IReadOnlyList<ThreadCommunicator> Communicators { get; }

    /// <summary>Every rank's <paramref name="mine"/> summed in rank order in double, rounded once
    /// (divided by the rank count first for the mean): the same bits on every rank, whichever came first.</summary>
    internal float[] AllReduce(int rank, float[] mine, ReduceOp op) => Exchange(rank, $"all-reduce of {mine.Length} values", mine, deposits =>
    {
        var sum = new double[mine.Length];
        foreach (var d in deposits) // in rank order (the sizes agree: the descriptions matched)
        {
            for (int i = 0; i < sum.Length; i++) sum[i] += d[i];
        }
        var reduced = new float[sum.Length];
        double scale = op == ReduceOp.Average ? 1.0 / deposits.Length : 1.0;
        for (int i = 0; i < sum.Length; i++) reduced[i] = (float)(sum[i] * scale);
        return reduced;
    });

    internal float[] Broadcast(int rank, float[] mine, int root)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(root);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(root, Size);
        return Exchange(rank, $"broadcast of {mine.Length} values from rank {root}", mine, deposits => deposits[root]);
    }

    internal void Barrier(int rank) => Exchange(rank, "barrier", [], _ => []);

    internal void Abort(int rank, string reason)
    {
        lock (_lock)
        {
            _abort ??= $"rank {rank} failed: {reason}";
            Monitor.PulseAll(_lock);
        }
    }

    internal float[] Exchange(int rank, string what, float[] deposit, Func<float[][], float[]> combine)
    {
        lock (_lock)
        {
            // A round that every rank has joined is still being taken: wait for it to be reset.
            WaitUntil(rank, what, () => _arrived < Size);
            long round = _round;
            _deposits[rank] = deposit;
            _what[rank] = what;
            _arrived++;
            if (_arrived == Size)
            {
                var mismatch = _what.Distinct().Count() > 1 ? _what : null;
                try
                {
                    if (mismatch is not null)
                        throw new CommunicatorAbortedException($"the ranks called different collectives at once ({string.Join("; ", mismatch.Select((w, r) => $"rank {r}: {w}"))}); every rank must call the same collectives in the same order");
                    _result = combine(_deposits!);
                }
                catch (CommunicatorAbortedException e)
                {
                    _abort ??= e.Message;
                    _result = null;
                }
                _round++;
                Monitor.PulseAll(_lock);
            }
            else
            {
                WaitUntil(rank, what, () => _round != round);
            }
            var result = _result ?? throw Aborted(rank, what); // null: the combination failed

            if (++_taken == Size)
            {
                _arrived = _taken = 0;
                Array.Clear(_deposits);
                Array.Clear(_what);
                _result = null;
                Monitor.PulseAll(_lock);
            }
            return result;
        }
    }

    /// <summary>Waits until <paramref name="done"/>; throws if the group is aborted first, or when
    /// the timeout passes (which aborts it). A round that completed is delivered even if a rank
    /// gave up after it.</summary>
    private void WaitUntil(int rank, string what, Func<bool> done)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!done())
        {
            if (_abort is not null) throw Aborted(rank, what);
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                var missing = Enumerable.Range(0, Size).Where(r => _deposits[r] is null).ToList();
                _abort = $"rank {rank} waited {Timeout.TotalSeconds:G3} s in a {what} for rank(s) {string.Join(", ", missing)}, which never came";
                Monitor.PulseAll(_lock);
                throw Aborted(rank, what);
            }
            Monitor.Wait(_lock, left);
        }
    }

    private CommunicatorAbortedException Aborted(int rank, string what) =>
        new(_abort!.StartsWith($"rank {rank} ", StringComparison.Ordinal) ? _abort : $"rank {rank} stopped in a {what}: {_abort}");
}
