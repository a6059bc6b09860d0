using Igcv3.Engine;
using Igcv3.Engine.Distributed;
using Igcv3.Engine.Nn;
using Igcv3.Kernels;
using Igcv3.Kernels.Cuda;
using Igcv3.Kernels.Distributed;
using Igcv3.Train.Data;
using Igcv3.Train.Progress;
using Igcv3.Train.Training;

namespace Igcv3.Train.Commands;

/// <summary>
/// train with --cpu-workers / --gpus / --nodes: the job already built for local worker 0 (its device,
/// network, optimizer, resumed state), a replica of it for each other local worker (its own
/// device, network copy, optimizer and shard of the data, the same checkpoint loaded), the
/// communicators that join them (made before any worker starts), and a trainer per worker of
/// which only rank 0 writes.
/// </summary>
internal static class DataParallelRun
{
    public static TrainOutcome Run(CliEnvironment env, DataParallelLaunch launch, TrainingJob first, Func<int, IBatchLoader> trainLoader, string? checkpoint)
    {
        var s = first.Settings;
        // Every local device first: the NCCL communicators are made for all of them at once.
        var devices = Enumerable.Range(0, launch.LocalRanks)
            .Select(i => i == 0 ? new DeviceSelection(first.Backend, first.Device) : DeviceChoice.Select(launch.DeviceOf(i), env.CudaBackend))
            .ToList();
        ICommunicator[] communicators = launch.OnCpu
            ? [.. new ThreadCommunicatorGroup(launch.CpuWorkers).Communicators]
            : launch.Emulated
                ? EmulatedDeviceCommunicator.CreateGroup([.. devices.Select(d => (CudaBackend)d.Backend)])
                : NcclLaunch.Create(env, launch, [.. devices.Select(d => d.Backend)]);
        TrainingJob JobFor(int i)
        {
            if (i == 0) return first;
            var network = ModelBuilder.Network(s, first.Network.Classes);
            var parameters = ParameterSet.Create(network, devices[i].Backend, s.Seed);
            var optimizer = ModelBuilder.Optimizer(s, parameters);
            var state = checkpoint is null ? new TrainerState() : TrainCommand.LoadForResume(checkpoint, parameters, optimizer, s);
            return first with
            {
                Device = devices[i].Description, Backend = devices[i].Backend, Network = network, Parameters = parameters, Optimizer = optimizer,
                TrainLoader = trainLoader(i), State = state,
            };
        }
        Trainer TrainerFor(TrainingJob job, DataParallelRank rank) => rank.IsWriter
            ? new Trainer(job, env.Progress(), env.Out, env.Cancellation) { Parallel = rank, AfterStep = env.AfterStep, BeforeCheckpoint = env.BeforeCheckpoint, Time = env.Time }
            : new Trainer(job, new PlainProgress(TextWriter.Null), TextWriter.Null, env.Cancellation) { Parallel = rank, Time = env.Time };
        // A failed worker gives up every local communicator (the in-process groups share one state, so one is enough there).
        void Abort(int i, Exception e)
        {
            foreach (var c in launch.OnCpu || launch.Emulated ? [communicators[i]] : communicators) c.Abort($"{e.GetType().Name}: {e.Message}");
        }
        try
        {
            return DataParallelTraining.Run(launch, JobFor, i => communicators[i], Abort, TrainerFor, s.SyncBn);
        }
        catch (CommunicatorAbortedException e)
        {
            // No worker of this process failed: a rank elsewhere did, or one never came.
            throw new DeviceException($"data-parallel training stopped: {e.Message}", e);
        }
        finally
        {
            foreach (var c in communicators) c.Dispose();
        }
    }
}
