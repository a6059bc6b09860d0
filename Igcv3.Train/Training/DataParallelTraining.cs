using Igcv3.Engine;
using Igcv3.Engine.Distributed;

namespace Igcv3.Train.Training;

/// <summary>
/// Runs the ranks of a <see cref="DataParallelLaunch"/> that live in this process, one thread each
/// (thread per GPU rather than process per GPU: the data set is read into memory once for all of
/// them, Ctrl+C and SIGTERM reach one process that stops every worker through the same
/// cancellation token, and a worker's failure is an exception the others are told of at once;
/// a process per GPU remains possible through WORLD_SIZE/RANK/LOCAL_RANK, one rank each).
/// Each thread builds its own job (network copy, optimizer, shard of the data, device), joins
/// the communicator, starts from rank 0's parameters and runs the same <see cref="Trainer"/>.
/// </summary>
public static class DataParallelTraining
{
    /// <param name="jobFor">Builds local worker i's job (on its thread: a GPU context is current there).</param>
    /// <param name="communicatorFor">Local worker i's communicator (its owner disposes of it).</param>
    /// <param name="abort">Gives up the group when local worker i fails with an exception.</param>
    /// <param name="trainerFor">The trainer of a job and its rank (rank 0 with the real output).</param>
    public static TrainOutcome Run(DataParallelLaunch launch, Func<int, TrainingJob> jobFor, Func<int, ICommunicator> communicatorFor,
        Action<int, Exception> abort, Func<TrainingJob, DataParallelRank, Trainer> trainerFor, bool syncBn)
    {
        var outcomes = WorkerThreads.Run(launch.LocalRanks, i =>
        {
            var job = jobFor(i);
            var communicator = communicatorFor(i);
            var rank = new DataParallelRank(communicator, job.Parameters);
            if (syncBn) SyncBatchNorm.Enable(job.Network, communicator);
            rank.BroadcastFromRankZero();
            return trainerFor(job, rank).Run();
        }, abort);
        // Every rank stops at the same step for the same reason; rank 0's outcome (in this process, local worker 0) is the run's.
        return outcomes[0];
    }
}
