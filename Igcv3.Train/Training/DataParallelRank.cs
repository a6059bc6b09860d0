using Igcv3.Engine;
using Igcv3.Engine.Distributed;
using Igcv3.Engine.Nn;

namespace Igcv3.Train.Training;

/// <summary>
/// A trainer's place in a data-parallel run: its communicator, the gradient buckets of its
/// network copy, and whether it is rank 0, the one rank that evaluates and writes the run's files
/// (logs, TensorBoard, checkpoints, summary). Every rank runs the same <see cref="Trainer"/> loop,
/// so the collectives line up by construction; where a rank may decide alone (Ctrl+C, the time
/// limit), the ranks vote with <see cref="Agree"/> at the same steps.
/// </summary>
public sealed class DataParallelRank
{
    public DataParallelRank(ICommunicator communicator, ParameterSet parameters)
    {
        Communicator = communicator;
        Parameters = parameters;
        Buckets = new GradientBuckets(parameters, communicator);
    }

    public ICommunicator Communicator { get; }

    public ParameterSet Parameters { get; }

    public GradientBuckets Buckets { get; }

    public int Rank => Communicator.Rank;

    public int Size => Communicator.Size;

    public bool IsWriter => Rank == 0;

    /// <summary>Makes every rank start from rank 0's parameters and buffers (as DDP does at
    /// construction), whatever each built or loaded.</summary>
    public void BroadcastFromRankZero()
    {
        Communicator.Broadcast(Parameters.Values, 0);
        if (Parameters.Buffers.Count > 0) Communicator.Broadcast(Parameters.Buffers, 0);
    }

    /// <summary>True on every rank when any rank says stop: one all-reduce of one value.</summary>
    public bool Agree(bool stop)
    {
        var vote = Tensor.FromArray(Parameters.Backend, [stop ? 1f : 0f], [1]);
        Communicator.AllReduce(vote, ReduceOp.Sum);
        bool any = vote.ToFloatArray()[0] > 0;
        vote.Storage.Dispose();
        return any;
    }
}
