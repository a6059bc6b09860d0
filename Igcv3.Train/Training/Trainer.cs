using System.Diagnostics;
using System.Globalization;
using Igcv3.Engine;
using Igcv3.Engine.Checkpoints;
using Igcv3.Engine.Cpu;
using Igcv3.Train.Commands;
using Igcv3.Train.Logging;
using Igcv3.Train.Progress;
using Igcv3.Train.Settings;

namespace Igcv3.Train.Training;

/// <summary>How a call to <see cref="Trainer.Run"/> ended: all epochs, Ctrl+C, or --time-limit-minutes.</summary>
public enum TrainOutcome { Completed, Interrupted, TimeLimit }

/// <summary>
/// The training loop. A step (<see cref="StepRunner"/>): forward, loss, zero-grad, backward, SGD
/// step at the schedule's rate for (epoch, step), eagerly inside a tensor scope or, with
/// --cuda-graph on a GPU, as one replayed CUDA graph. After each epoch: evaluation, the metrics to every
/// sink, last.safetensors (and best.safetensors when the test top-1 improved). A cancellation
/// (Ctrl+C) lets the current step finish, saves last.safetensors with the position reached, and
/// returns <see cref="TrainOutcome.Interrupted"/>; --time-limit-minutes stops the same way
/// mid-epoch, or at an epoch boundary when another epoch would not fit (<see cref="TrainOutcome.TimeLimit"/>);
/// --checkpoint-every-minutes saves the same way mid-epoch and trains on. A non-finite loss, or
/// non-finite parameters about to be saved, stop the run with a <see cref="Commands.DivergedException"/>
/// and nothing saved. Everything a resume needs is in the checkpoint,
/// so a resumed run on the CPU repeats the uninterrupted run's losses bit for bit.
/// <para>Data-parallel (<see cref="Parallel"/>): every rank runs this loop on its shard, the step
/// averages the gradients over the ranks during backward, and only rank 0 evaluates and writes;
/// a stop (Ctrl+C, time limit) is voted on by all ranks at the same steps, so none is left waiting
/// in a collective.</para>
/// </summary>
public sealed class Trainer(TrainingJob job, IProgressReporter progress, TextWriter output, CancellationToken cancellation)
{
    public const string ConfigKey = "train.config";
    public const string NetworkKey = "train.network";
    public const string KindKey = "train.kind";
    public const string WorldSizeKey = "train.world-size";

    /// <summary>Called after each step with the global step count (tests use it to interrupt at a chosen step).</summary>
    public Action<long>? AfterStep { get; init; }

    /// <summary>Called with a checkpoint's path before it is written (tests fail it as a full disk would).</summary>
    public Action<string>? BeforeCheckpoint { get; init; }

    /// <summary>This trainer's rank in a data-parallel run; null: training alone.</summary>
    public DataParallelRank? Parallel { get; init; }

    /// <summary>Rank 0 (or the only trainer): evaluates, logs, checkpoints.</summary>
    private bool IsWriter => Parallel?.IsWriter ?? true;

    private int WorldSize => Parallel?.Size ?? 1;

    private RunSettings S => job.Settings;
    private TrainerState State => job.State;

    /// <summary>The clock of --time-limit-minutes (tests give one that steps advance).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    private long _sessionStart;

    /// <summary>This run's steps (eager, or CUDA graph replays), for the length of <see cref="Run"/>.</summary>
    private StepRunner _steps = null!;

    /// <summary>What last.safetensors holds (null: nothing yet), for the message of a run that diverges.</summary>
    private string? _lastSaved;

    /// <summary>Wall time of this run (this process), for --time-limit-minutes.</summary>
    private TimeSpan Session => Time.GetElapsedTime(_sessionStart);

    private bool PastTimeLimit(double extraSeconds = 0) =>
        S.TimeLimitMinutes is { } minutes && Session.TotalSeconds + extraSeconds > minutes * 60;

    /// <summary>When last.safetensors was last written (or this session began), for --checkpoint-every-minutes.</summary>
    private long _lastCheckpoint;

    private bool CheckpointDue => S.CheckpointEveryMinutes is { } minutes && Time.GetElapsedTime(_lastCheckpoint).TotalMinutes >= minutes;

    public TrainOutcome Run()
    {
        _sessionStart = _lastCheckpoint = Time.GetTimestamp();
        var files = job.Files;
        _lastSaved = File.Exists(files.Last) ? $"{files.Last} is left as it was" : null;
        using var steps = IsWriter ? new StepLog(files.Steps) : StepLog.Discard();
        // A data-parallel rank's collectives are queued on its communication stream (events either
        // way), so its step is captured whole, all-reduces included, and replayed like one GPU's.
        using var runner = _steps = new StepRunner(job.Backend, job.Network, job.Parameters, job.Optimizer, S.LabelSmoothing,
            cudaGraph: S.CudaGraph != "off", progress.Line,
            backward: Parallel is { } parallel ? parallel.Buckets.Backward : null);
        var sinks = IsWriter ? files.OpenSinks($"{S.NetworkLabel} on {S.Dataset}", job.TrainLoader.BatchesPerEpoch) : [];
        try
        {
            for (int epoch = State.Epoch; epoch < S.Epochs; epoch++)
            {
                long epochStart = Time.GetTimestamp();
                if (!TrainEpoch(epoch, steps, sinks)) return StoppedMidEpoch(steps);
                bool evaluated = Evaluate(epoch, sinks, steps);
                if (epoch + 1 == S.Epochs) { if (!evaluated) return StoppedMidEpoch(steps); continue; }
                // Another epoch as long as this one would end past the limit: stop at this boundary.
                bool stop = !evaluated || PastTimeLimit(Time.GetElapsedTime(epochStart).TotalSeconds);
                if (Parallel is not null) stop = Parallel.Agree(stop);
                if (!stop) continue;
                return !evaluated ? StoppedMidEpoch(steps) : cancellation.IsCancellationRequested ? Interrupted(steps) : StoppedAtTimeLimit(steps, midEpoch: false);
            }
        }
        finally
        {
            foreach (var sink in sinks) sink.Dispose();
        }
        WriteSummary();
        output.WriteLine($"Completed: {S.Epochs} {(S.Epochs == 1 ? "epoch" : "epochs")} trained.");
        return TrainOutcome.Completed;
    }

    /// <summary>Stopped inside an epoch (its training or its evaluation): by Ctrl+C, or else the time limit.</summary>
    private TrainOutcome StoppedMidEpoch(StepLog steps) => cancellation.IsCancellationRequested ? Interrupted(steps) : StoppedAtTimeLimit(steps, midEpoch: true);

    /// <summary>Steps between reads of loss and accuracy from the device (--log-every). A read
    /// waits for every queued step; on the CPU that costs nothing, on a GPU it would leave the
    /// device idle while the host builds the next step, so there several steps are queued first.</summary>
    private int LogEvery => S.LogEvery ?? (job.Backend is CpuBackend ? 1 : 20);

    /// <summary>A step that has been queued but whose loss and logits have not been read yet.</summary>
    private sealed record PendingStep(long GlobalStep, int Batch, double Lr, int[] Labels, Tensor Loss, Tensor Logits);

    /// <summary>Trains the rest of <paramref name="epoch"/>; false when cancelled.</summary>
    private bool TrainEpoch(int epoch, StepLog steps, List<IMetricsSink> sinks)
    {
        var loader = job.TrainLoader;
        int total = loader.BatchesPerEpoch;
        bool cancelled = false;
        string title = string.Create(CultureInfo.InvariantCulture, $"epoch {epoch + 1}/{S.Epochs}");
        progress.RunEpoch(title, total, State.Batch, bar =>
        {
            var clock = Stopwatch.StartNew();
            double lastRead = 0, wallCounted = 0;
            long sessionImages = 0;
            int sessionSteps = 0;
            var pending = new List<PendingStep>();
            double waitedBefore = loader.Statistics?.WaitSeconds ?? 0;

            // Reads the pending steps' values (one wait for the device), then accounts and logs them
            // in step order: the figures are those of reading after every step.
            void ReadPending()
            {
                if (!IsWriter) DiscardPending();
                if (pending.Count == 0) return;
                var losses = new List<double>(pending.Count);
                foreach (var p in pending)
                {
                    double loss = p.Loss.Item();
                    var (correct, _) = Accuracy.Count(p.Logits.ToFloatArray(), p.Labels, job.Network.Classes);
                    p.Loss.Storage.Dispose();
                    p.Logits.Storage.Dispose();
                    steps.Write(p.GlobalStep, epoch + 1, p.Batch, p.Lr, loss, 100.0 * correct / p.Labels.Length);
                    if (!double.IsFinite(loss))
                    {
                        throw Diverged(string.Create(CultureInfo.InvariantCulture,
                            $"the training loss is {loss} at step {p.GlobalStep} (epoch {epoch + 1}, batch {p.Batch}/{total}, learning rate {p.Lr:G4})"));
                    }
                    State.EpochLossSum += loss * p.Labels.Length;
                    State.EpochCorrect += correct;
                    State.EpochSeen += p.Labels.Length;
                    sessionImages += p.Labels.Length * WorldSize;
                    sessionSteps++;
                    losses.Add(loss);
                }
                // The time since the last read covers these steps: queuing, loading, and the device's work.
                double now = clock.Elapsed.TotalSeconds, seconds = now - lastRead;
                lastRead = now;
                State.EpochSeconds += seconds;
                State.TrainSeconds += seconds;
                double rate = sessionImages / Math.Max(now, 1e-9);
                for (int i = 0; i < pending.Count; i++)
                {
                    var p = pending[i];
                    var point = new StepMetrics(p.GlobalStep, epoch + (double)p.Batch / total, losses[i], p.Lr, i == pending.Count - 1 ? rate : null);
                    foreach (var sink in sinks) sink.WriteStep(point);
                }
                var eta = TimeSpan.FromSeconds(now / sessionSteps * (total - pending[^1].Batch));
                // Image files: the step's own rate (the time not spent waiting for batches) beside the loader's.
                LoaderProgress? input = loader.Statistics is { } stats
                    ? new LoaderProgress(sessionImages / Math.Max(now - (stats.WaitSeconds - waitedBefore), 1e-9), stats.ImagesPerSecond)
                    : null;
                bar.Update(new StepProgress(pending[^1].Batch, total, State.EpochLossSum / State.EpochSeen,
                    100.0 * State.EpochCorrect / State.EpochSeen, rate, eta, input));
                pending.Clear();
            }

            // Other ranks than 0 neither log nor check: their loss is not read back.
            void DiscardPending()
            {
                foreach (var p in pending)
                {
                    p.Loss.Storage.Dispose();
                    p.Logits.Storage.Dispose();
                }
                pending.Clear();
            }

            foreach (var batch in loader.Epoch(epoch, State.Batch))
            {
                double lr = job.Schedule.LearningRate(epoch, batch.Index, total);
                // The steps still held keep blocks that the capture must find in the cache.
                if (_steps.CapturesNext) ReadPending();
                var (loss, logits) = _steps.Step(batch.Images, batch.Labels, lr);

                // The position advances with every queued step: a checkpoint taken after the next
                // read holds the parameters of exactly these steps.
                State.Batch = batch.Index + 1;
                State.GlobalStep++;
                State.ImagesTrained += batch.Count * WorldSize;
                // The loader refills its buffers for the next batches: the labels are copied.
                pending.Add(new PendingStep(State.GlobalStep, State.Batch, lr, [.. batch.Labels], loss, logits));
                if (pending.Count >= LogEvery) ReadPending();
                AfterStep?.Invoke(State.GlobalStep);
                if (StopAfterStep())
                {
                    cancelled = true;
                    break;
                }
                if (CheckpointDue && State.Batch < total)
                {
                    ReadPending();
                    CountWall();
                    SavePosition(steps, "mid-epoch");
                }
            }
            ReadPending();
            CountWall();

            void CountWall()
            {
                State.WallSeconds += clock.Elapsed.TotalSeconds - wallCounted;
                wallCounted = clock.Elapsed.TotalSeconds;
            }
        });
        return !cancelled;
    }

    /// <summary>Ctrl+C or the time limit, after a step. Data-parallel ranks vote every --log-every
    /// steps (where the host waits for the device anyway), so they all stop after the same step.</summary>
    private bool StopAfterStep()
    {
        bool stop = cancellation.IsCancellationRequested || PastTimeLimit();
        if (Parallel is null) return stop;
        return State.GlobalStep % LogEvery == 0 && Parallel.Agree(stop);
    }

    /// <summary>Evaluates after <paramref name="epoch"/>, logs, checkpoints; false when cancelled during evaluation.</summary>
    private bool Evaluate(int epoch, List<IMetricsSink> sinks, StepLog steps)
    {
        if (!IsWriter)
        {
            State.StartEpoch(epoch + 1);
            return true;
        }
        var clock = Stopwatch.StartNew();
        EvalResult result;
        try
        {
            result = Evaluator.Run(job.Network, job.Backend, job.TestLoader, cancellation);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            return false;
        }
        State.WallSeconds += clock.Elapsed.TotalSeconds;
        int stepsPerEpoch = job.TrainLoader.BatchesPerEpoch;
        if (!double.IsFinite(result.Loss))
        {
            throw Diverged(string.Create(CultureInfo.InvariantCulture,
                $"the test loss is {result.Loss} after epoch {epoch + 1} (learning rate {job.Schedule.LearningRate(epoch, stepsPerEpoch - 1, stepsPerEpoch):G4})"));
        }

        // The epoch's rate as logged: that of its last step (constant within an epoch for step and exponential).
        var metrics = new EpochMetrics(epoch + 1, job.Schedule.LearningRate(epoch, stepsPerEpoch - 1, stepsPerEpoch),
            State.EpochLossSum / Math.Max(1, State.EpochSeen), 100.0 * State.EpochCorrect / Math.Max(1, State.EpochSeen),
            result.Loss, result.Top1, result.Top5, State.EpochSeen * WorldSize / Math.Max(State.EpochSeconds, 1e-9), State.EpochSeconds + clock.Elapsed.TotalSeconds);
        foreach (var sink in sinks) sink.Write(metrics);
        progress.Line(string.Create(CultureInfo.InvariantCulture,
            $"epoch {epoch + 1}/{S.Epochs}: train loss {metrics.TrainLoss:F4} acc {metrics.TrainTop1:F2}% | test loss {result.Loss:F4} top-1 {result.Top1:F2}% top-5 {result.Top5:F2}% | lr {metrics.LearningRate:G4} | {metrics.ImagesPerSecond:F0} img/s"));

        bool best = double.IsNaN(State.BestTop1) || result.Top1 > State.BestTop1;
        State.LastTop1 = result.Top1;
        State.LastTop5 = result.Top5;
        if (best)
        {
            State.BestTop1 = result.Top1;
            State.BestTop5 = result.Top5;
            State.BestEpoch = epoch + 1;
        }
        State.StartEpoch(epoch + 1);
        steps.Flush();
        Save("epoch-end", alsoBest: best);
        return true;
    }

    private TrainOutcome StoppedAtTimeLimit(StepLog steps, bool midEpoch)
    {
        if (midEpoch) SavePosition(steps, "interrupted");
        if (State.Epoch > 0) WriteSummary(); // the epochs evaluated so far
        // The last line says how the run ended.
        string where = midEpoch ? $"in epoch {State.Epoch + 1}, at step {State.Batch}/{job.TrainLoader.BatchesPerEpoch}" : $"after epoch {State.Epoch}";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Stopped at the time limit of {S.TimeLimitMinutes} minutes {where} ({Session.TotalMinutes:F1} minutes): saved {job.Files.Last}. Continue with: train --resume {job.Files.Folder}"));
        return TrainOutcome.TimeLimit;
    }

    /// <summary>Mid-epoch: the steps logged so far and last.safetensors at the position reached.</summary>
    private void SavePosition(StepLog steps, string kind)
    {
        steps.Flush();
        Save(kind);
    }

    private TrainOutcome Interrupted(StepLog steps)
    {
        SavePosition(steps, "interrupted");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Interrupted at epoch {State.Epoch + 1}, step {State.Batch}/{job.TrainLoader.BatchesPerEpoch}: saved {job.Files.Last}. Continue with: train --resume {job.Files.Folder}"));
        return TrainOutcome.Interrupted;
    }

    /// <summary>The error that stops a diverged run: nothing of it is saved, so the checkpoint
    /// on disk is the last finite state.</summary>
    private DivergedException Diverged(string what)
    {
        string again = string.Create(CultureInfo.InvariantCulture, $"start again with a lower --lr (this run's is {S.Lr:G4}) or a warmup (--schedule cosine --warmup-epochs 5)");
        return new DivergedException(_lastSaved is null
            ? $"{what}: the run diverged and was stopped; no checkpoint had been saved. {char.ToUpperInvariant(again[0])}{again[1..]}"
            : $"{what}: the run diverged and was stopped without saving; {_lastSaved}. Continue it at a lower rate (train --resume {job.Files.Folder} --lr ...), or {again}");
    }

    /// <summary>Writes last.safetensors (of <paramref name="kind"/>), and before it best.safetensors
    /// when <paramref name="alsoBest"/>: the state that names this epoch the best (last.safetensors,
    /// then summary.json) is written only once the file it names is in place.</summary>
    private void Save(string kind, bool alsoBest = false)
    {
        if (!IsWriter) return;
        // A step whose loss was finite can still leave non-finite parameters: never save those.
        // Checked once for both files (on a GPU it is a download of every parameter).
        if (!job.Parameters.Values.ToFloatArray().All(float.IsFinite))
            throw Diverged($"the parameters are not finite after step {State.GlobalStep} (epoch {State.Epoch + 1})");
        if (alsoBest) Write(job.Files.Best, "best");
        Write(job.Files.Last, kind);
        _lastCheckpoint = Time.GetTimestamp();
        _lastSaved = $"{job.Files.Last} holds the last checkpoint, {(State.Batch == 0 ? $"after epoch {State.Epoch}" : $"at epoch {State.Epoch + 1}, step {State.Batch}")}";
    }

    private void Write(string path, string kind)
    {
        var metadata = new Dictionary<string, string>
        {
            [ConfigKey] = SettingsLoader.ToJsonText(S),
            [NetworkKey] = S.Network,
            [KindKey] = kind,
            [WorldSizeKey] = WorldSize.ToString(CultureInfo.InvariantCulture),
        };
        BeforeCheckpoint?.Invoke(path);
        Checkpoint.Save(path, job.Parameters, job.Optimizer, metadata, State.ToExtras());
    }

    private void WriteSummary()
    {
        if (!IsWriter) return;
        var summary = new RunSummary(S.Network, S.Dataset, job.Device, State.Epoch, State.BestTop1, State.BestTop5, State.BestEpoch,
            State.LastTop1, State.LastTop5, State.WallSeconds, State.ImagesTrained / Math.Max(State.TrainSeconds, 1e-9), job.Parameters.Count);
        summary.Save(job.Files.Summary);
        output.WriteLine(summary.Format());
        output.WriteLine($"Files in {job.Files.Folder}: metrics.csv, metrics.jsonl, steps.csv, curves.html, tensorboard/, last.safetensors, best.safetensors, summary.json");
    }
}
