using Igcv3.Engine;
using Igcv3.Engine.Distributed;
using Igcv3.Engine.Nn;
using Igcv3.Train.Data;
using Igcv3.Train.Progress;
using Igcv3.Train.Training;

namespace Igcv3.Train.Commands;

/// <summary>
/// train with --workers / --gpus / --nodes: the job already built for local worker 0 (its device,
/// network, optimizer, resumed state), a replica of it for each other local worker (its own
/// device, network copy, optimizer and shard of the data, the same checkpoint loaded), the
/// communicators that join them, and a trainer per worker of which only rank 0 writes.
/// </summary>
internal static class DataParallelRun
{
    public static TrainOutcome Run(CliEnvironment env, DataParallelLaunch launch, TrainingJob first, Func<int, BatchLoader> trainLoader, string? checkpoint)
    {
        var s = first.Settings;
        var (communicatorFor, abort) = Communicators(env, launch);
        TrainingJob JobFor(int i)
        {
            if (i == 0) return first;
            var device = launch.OnCpu ? DeviceChoice.Select("cpu", env.CudaBackend) : DeviceChoice.Select($"cuda:{launch.Gpus[i]}", env.CudaBackend);
            var network = ModelBuilder.Network(s, first.Network.Classes);
            var parameters = ParameterSet.Create(network, device.Backend, s.Seed);
            var optimizer = ModelBuilder.Optimizer(s, parameters);
            var state = checkpoint is null ? new TrainerState() : TrainCommand.LoadForResume(checkpoint, parameters, optimizer, s);
            return first with
            {
                Device = device.Description, Backend = device.Backend, Network = network, Parameters = parameters, Optimizer = optimizer,
                TrainLoader = trainLoader(i), State = state,
            };
        }
        Trainer TrainerFor(TrainingJob job, DataParallelRank rank) => rank.IsWriter
            ? new Trainer(job, env.Progress(), env.Out, env.Cancellation) { Parallel = rank, AfterStep = env.AfterStep, BeforeCheckpoint = env.BeforeCheckpoint, Time = env.Time }
            : new Trainer(job, new PlainProgress(TextWriter.Null), TextWriter.Null, env.Cancellation) { Parallel = rank, Time = env.Time };
        try
        {
            return DataParallelTraining.Run(launch, JobFor, communicatorFor, abort, TrainerFor, s.SyncBn);
        }
        catch (CommunicatorAbortedException e)
        {
            // No worker of this process failed: a rank elsewhere did, or one never came.
            throw new DeviceException($"data-parallel training stopped: {e.Message}", e);
        }
    }

    private static (Func<int, IBackend, ICommunicator> For, Action<int, Exception> Abort) Communicators(CliEnvironment env, DataParallelLaunch launch)
    {
        if (launch.OnCpu)
        {
            var group = new ThreadCommunicatorGroup(launch.CpuWorkers);
            return ((i, _) => group.Communicators[i], (i, e) => group.Communicators[i].Abort(ErrorLine(e)));
        }
        return NcclLaunch.Communicators(env, launch);
    }

    internal static string ErrorLine(Exception e) => $"{e.GetType().Name}: {e.Message}";
}
