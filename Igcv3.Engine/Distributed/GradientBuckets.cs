using Igcv3.Engine.Nn;

namespace Igcv3.Engine.Distributed;

/// <summary>
/// Data-parallel gradient averaging: the flat gradient buffer cut into buckets of consecutive
/// parameters (views, nothing copied), each all-reduced (mean over ranks) as soon as backward has
/// written the last gradient of its parameters, reported by autograd's leaf hook; buckets that
/// backward did not complete (parameters it never reached) are reduced at the end, in bucket
/// order. Every rank runs the same graph, so the buckets complete, and are reduced, in the same
/// order everywhere, which is what matches the collectives up.
/// <para>What overlaps: each bucket's all-reduce is started (<see cref="ICommunicator.StartAllReduce"/>)
/// the moment it completes and joined once, after backward, before the optimizer reads the
/// gradients. On a GPU (NCCL) or an emulated device that puts it on the communication stream behind
/// an event recorded on the compute stream, so it runs beside the rest of backward, and the compute
/// stream waits for the communication stream's event only at the join. With the in-process
/// communicator on the CPU backend each all-reduce is done before backward goes on.</para>
/// <para>The buckets follow the buffer's layout (weights in declaration order, then BN and bias
/// parameters), not PyTorch DDP's observed order of readiness: the buffer's views are fixed when
/// the network is built. The weights of the last layers complete first, so the last weight
/// buckets go out early in backward; the BN/bias bucket completes with the first layer.</para>
/// </summary>
public sealed class GradientBuckets
{
    /// <summary>1 Mi floats = 4 MiB. IGCV3-D and MobileNetV2 have 3.5 M parameters (14 MB of
    /// gradients): PyTorch DDP's 25 MB would make them one bucket, sent only when backward ends;
    /// 4 MiB gives four, the first going out while most of backward is still to run, each still
    /// large enough that a ring all-reduce over NVLink is not dominated by its latency.</summary>
    public const long DefaultBucketElements = 1L << 20;

    private readonly ICommunicator _communicator;
    private readonly Dictionary<Tensor, int> _bucketOf = new(ReferenceEqualityComparer.Instance);
    private readonly int[] _parametersPerBucket;
    private readonly int[] _pending;
    private readonly bool[] _launched;

    public GradientBuckets(ParameterSet parameters, ICommunicator communicator, long bucketElements = DefaultBucketElements)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bucketElements);
        _communicator = communicator;
        var views = new List<Tensor>();
        var counts = new List<int>();
        long start = 0, length = 0;
        int members = 0;
        foreach (var (_, p) in parameters.Parameters)
        {
            _bucketOf[p.Value] = views.Count;
            members++;
            length += p.Shape.Count;
            if (length >= bucketElements) Close();
        }
        if (members > 0) Close();
        Views = views;
        _parametersPerBucket = [.. counts];
        _pending = new int[views.Count];
        _launched = new bool[views.Count];

        void Close()
        {
            views.Add(Tensor.View(parameters.Gradients.Storage, parameters.Gradients.Offset + start, [checked((int)length)]));
            counts.Add(members);
            start += length;
            length = 0;
            members = 0;
        }
    }

    /// <summary>Each bucket's view of the flat gradient buffer, in layout order.</summary>
    public IReadOnlyList<Tensor> Views { get; }

    /// <summary>The buckets in the order the last <see cref="Backward"/> reduced them, and how many
    /// of them went out while backward was still running.</summary>
    public List<int> LaunchOrder { get; } = [];

    public int LaunchedDuringBackward { get; private set; }

    /// <summary>Backward from <paramref name="loss"/> with every bucket averaged over the ranks by
    /// the time it returns: the gradients are then those of the mean loss over all ranks' batches.</summary>
    public void Backward(Tensor loss)
    {
        Array.Copy(_parametersPerBucket, _pending, _pending.Length);
        Array.Clear(_launched);
        LaunchOrder.Clear();
        loss.Backward(LeafDone);
        LaunchedDuringBackward = LaunchOrder.Count;
        for (int b = 0; b < Views.Count; b++)
        {
            if (!_launched[b]) Launch(b);
        }
        _communicator.JoinStarted();
    }

    private void LeafDone(Tensor leaf)
    {
        if (_bucketOf.TryGetValue(leaf, out int b) && --_pending[b] == 0) Launch(b);
    }

    private void Launch(int bucket)
    {
        _launched[bucket] = true;
        LaunchOrder.Add(bucket);
        _communicator.StartAllReduce(Views[bucket], ReduceOp.Average);
    }
}
