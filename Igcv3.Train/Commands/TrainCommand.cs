using System.CommandLine;
using Igcv3.Engine.Checkpoints;
using Igcv3.Engine.Nn;
using Igcv3.Kernels.Cuda;
using Igcv3.Train.Data;
using Igcv3.Train.Settings;
using Igcv3.Train.Training;

namespace Igcv3.Train.Commands;

/// <summary>
/// <c>train</c>: builds and checks everything (settings, device, network, data, output folder,
/// the checkpoint to resume) before the first file is written, then runs the <see cref="Trainer"/>.
/// </summary>
public static class TrainCommand
{
    public static Command Create(CliEnvironment env)
    {
        var settings = new SettingOptions();
        var config = new Option<string>("--config") { Description = "JSON config file (or the name of a shipped config); options on the command line override it." };
        var resume = new Option<string>("--resume") { Description = "Continue a run: its folder or a checkpoint. Settings come from the checkpoint; options given here override them." };
        var command = new Command("train", "Train a network.");
        foreach (var option in settings.All) command.Add(option);
        command.Add(config);
        command.Add(resume);
        command.SetAction(result => Cli.Guard(env, () => Run(env, settings.Given(result), result.GetValue(config), result.GetValue(resume))));
        return command;
    }

    public static int Run(CliEnvironment env, System.Text.Json.Nodes.JsonObject cli, string? configPath, string? resumePath)
    {
        // A run killed before its first checkpoint can only start again: from its own settings.
        bool restart = resumePath is not null && new RunFiles(resumePath).StoppedBeforeFirstCheckpoint;
        string? checkpoint = resumePath is null || restart ? null : SettingsSources.ResolveCheckpoint(resumePath, "--resume");
        var checkpointLayer = restart ? SettingsLoader.ReadConfigFile(new RunFiles(resumePath!).Config)
            : checkpoint is null ? null : SettingsSources.CheckpointLayer(checkpoint);
        // The run folder may have moved since the checkpoint was written: resume where the checkpoint is.
        checkpointLayer?.Remove("output");
        // Where to run is this invocation's: a run of N workers resumes on any number (and on the CPU).
        foreach (string key in DataParallelPlacementKeys) checkpointLayer?.Remove(key);
        var s = SettingsLoader.Merge(("checkpoint", checkpointLayer), ("config", SettingsSources.ConfigLayer(configPath)), ("command line", cli));
        if (restart && s.Output is null) s = s with { Output = Path.GetFullPath(resumePath!) };
        if (checkpoint is not null && s.Output is null) s = s with { Output = Path.GetDirectoryName(Path.GetFullPath(checkpoint)) };
        SettingsValidation.Validate(s);
        // Stored in the checkpoints and config.json: a full path holds from whatever folder the run is resumed.
        s = s with { DataDir = Path.GetFullPath(s.DataDir), InitFrom = s.InitFrom is null ? null : Path.GetFullPath(s.InitFrom) };

        var launch = DataParallelLaunch.From(s, Environment.GetEnvironmentVariable);
        var device = DeviceChoice.Select(launch is null ? DataParallelLaunch.SingleGpuDevice(s) ?? s.Device : launch.DeviceOf(0), env.CudaBackend);
        var cuda = device.Backend as CudaBackend;
        if (cuda is not null) cuda.PointwiseGemm = Enum.Parse<PointwiseGemm>(s.PointwiseGemm, ignoreCase: true);
        var network = ModelBuilder.Network(s, DatasetLoader.ClassCount(s));
        var parameters = ParameterSet.Create(network, device.Backend, s.Seed);
        // Fine-tuning: a new run (not a resume, whose checkpoint holds the weights) starts from another's.
        var transfer = checkpoint is null && s.InitFrom is { } initFrom ? WeightTransfer.Apply(TrainedModel.Resolve(initFrom, "--init-from"), parameters) : null;
        var optimizer = ModelBuilder.Optimizer(s, parameters);
        var schedule = ModelBuilder.Schedule(s);

        int world = launch?.WorldSize ?? 1;
        var loaders = RunLoaders.Create(s, env.Out, env.CifarLayouts, cancellation: env.Cancellation, world: world);
        // This process's first rank trains on its share; loaders.Train is rank 0's (a node other than node 0 starts further on).
        var (trainLoader, testLoader) = (launch is { FirstRank: > 0 } ? loaders.TrainFor(launch.FirstRank) : loaders.Train, loaders.Test);

        var state = new TrainerState();
        if (checkpoint is not null)
        {
            state = LoadForResume(checkpoint, parameters, optimizer, s);
            if (checkpointLayer is not null) RefuseNewEpochPlan(state, SettingsLoader.Merge(("checkpoint", checkpointLayer)), s);
            RefuseNewWorldMidEpoch(state, checkpoint, world);
        }

        var files = new RunFiles(s.OutputFolder);
        // Without the output folder: config.json reused as a --config must not point into this run.
        string configJson = SettingsLoader.ToJsonText(s with { Output = null });
        if (checkpoint is null)
        {
            string? cleared = files.PrepareNew(configJson);
            if (restart) env.Out.WriteLine($"{resumePath} holds no checkpoint yet (the run stopped before its first): starting it again from its config.json");
            else if (cleared is not null) env.Out.WriteLine(cleared);
        }
        else files.PrepareResume(configJson, state.Epoch, state.GlobalStep);

        env.Out.WriteLine($"{(checkpoint is null ? "Training" : $"Resuming at epoch {state.Epoch + 1}, step {state.Batch}:")} {s.NetworkLabel} ({parameters.Count:N0} parameters) " +
                          $"on {loaders.Name} ({trainLoader.Count:N0} train / {testLoader.Count:N0} test images), device {device.Description}, output {files.Folder}");
        foreach (string line in transfer?.Lines() ?? []) env.Out.WriteLine(line);
        if (device.Libraries is { Length: > 0 } libraries) env.Out.WriteLine($"CUDA libraries: {libraries}");
        if (s.CudaGraph is { } graph && cuda is null) env.Out.WriteLine($"--cuda-graph {graph}: ignored, CUDA graphs exist only on a CUDA device (this run is on {device.Description})");
        if (launch is not null) env.Out.WriteLine($"Data parallel: {launch.Describe()}; --batch-size {s.BatchSize} per worker, {s.BatchSize * world} in all per step; batch norm {(s.SyncBn ? "synchronised over all workers (--sync-bn)" : "per worker")}");
        var job = new TrainingJob(s, device.Description, device.Backend, network, parameters, optimizer, schedule, trainLoader, testLoader, files, state);
        var trainer = new Trainer(job, env.Progress(), env.Out, env.Cancellation) { AfterStep = env.AfterStep, BeforeCheckpoint = env.BeforeCheckpoint, Time = env.Time };
        TrainOutcome outcome;
        try
        {
            outcome = launch is null ? trainer.Run() : DataParallelRun.Run(env, launch, job, i => loaders.TrainFor(launch.FirstRank + i), checkpoint);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && e is not CheckpointException)
        {
            // A full disk or a folder gone read-only is the user's to fix; every file is written
            // atomically or appended, so what was saved before the failure is intact.
            throw new OutputFolderException($"writing the run's files in {files.Folder} failed ({e.Message}); the checkpoints saved before are intact: free some space (or fix the folder) and continue with train --resume {files.Folder}", e);
        }
        if (cuda?.PointwiseChoices is { Count: > 0 } choices)
        {
            env.Out.WriteLine($"1x1 convolutions (--pointwise-gemm auto): cuBLAS for {choices.Count(c => c.Chosen == PointwiseGemm.Cublas)} of {choices.Count} layer shapes and passes, our tiled kernels for the rest, as timed on the GPU at the first step");
        }
        return outcome == TrainOutcome.Interrupted ? ExitCodes.Interrupted : ExitCodes.Ok;
    }

    /// <summary>Mid-epoch, a resume trains the rest of the checkpoint's epoch plan from its batch on;
    /// options that change the plan would retrain or skip images of that epoch.</summary>
    private static void RefuseNewEpochPlan(TrainerState state, RunSettings saved, RunSettings s)
    {
        if (state.Batch == 0) return;
        foreach (var (option, was, now) in new (string, int?, int?)[]
                 { ("--batch-size", saved.BatchSize, s.BatchSize), ("--limit-train", saved.LimitTrain, s.LimitTrain), ("--seed", saved.Seed, s.Seed) })
        {
            if (was == now) continue;
            throw new UsageException($"{option} {now?.ToString() ?? "(all)"}: the checkpoint stopped mid-epoch (epoch {state.Epoch + 1}, step {state.Batch}) with {option} {was?.ToString() ?? "(all)"}, " +
                                     $"and another value would retrain or skip images of that epoch; finish the epoch with {option} {was?.ToString() ?? "(all)"} (--resume with --epochs {state.Epoch + 1}), then change it");
        }
    }

    /// <summary>The settings of where a run's workers are, left out of a resumed run's settings.</summary>
    private static readonly string[] DataParallelPlacementKeys = ["gpus", "cpu-workers", "nodes", "node-rank", "master-address"];

    /// <summary>Mid-epoch, the position is a step of the checkpoint's global batch (workers × batch
    /// size); another number of workers would split the rest of the epoch differently.</summary>
    private static void RefuseNewWorldMidEpoch(TrainerState state, string checkpoint, int world)
    {
        if (state.Batch == 0) return;
        var metadata = SafeTensorsReader.Read(checkpoint).Metadata;
        int saved = metadata.TryGetValue(Trainer.WorldSizeKey, out var text) ? int.Parse(text, System.Globalization.CultureInfo.InvariantCulture) : 1;
        if (saved == world) return;
        throw new UsageException($"the checkpoint stopped mid-epoch (epoch {state.Epoch + 1}, step {state.Batch}) on {saved} data-parallel worker(s), and {world} would split the rest of that epoch differently; " +
                                 $"finish the epoch on {saved} (--resume with --epochs {state.Epoch + 1}), then resume on any number");
    }

    internal static TrainerState LoadForResume(string checkpoint, ParameterSet parameters, Sgd optimizer, RunSettings s)
    {
        LoadedCheckpoint loaded;
        try
        {
            loaded = Checkpoint.Load(checkpoint, parameters, optimizer);
        }
        catch (CheckpointException e)
        {
            throw new CheckpointException($"{e.Message} (this run is --network {s.Network} --width-multiplier {s.WidthMultiplier}; the checkpoint's own settings are used unless overridden)", e);
        }
        return TrainerState.FromExtras(loaded, checkpoint);
    }
}
