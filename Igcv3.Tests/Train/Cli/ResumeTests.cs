using Igcv3.Engine.Checkpoints;
using Igcv3.Tests.Support;
using Igcv3.Train.Commands;
using Igcv3.Train.Logging;
using Igcv3.Train.Training;
using Xunit;

namespace Igcv3.Tests.Train.Cli;

/// <summary>
/// --resume continues exactly: on the CPU a run stopped after an epoch, or by Ctrl+C in the middle
/// of one, and resumed, gives the uninterrupted run's per-step losses, per-epoch metrics and final
/// parameters, bit for bit. The runs use augmentation and shuffling, so the data position matters.
/// </summary>
public sealed class ResumeTests : IDisposable
{
    private readonly TempFolder _temp = new();

    // 128 images / batch 32: 4 steps an epoch, 8 in all; momentum and BN running statistics both matter.
    private static string[] Recipe(string output, int epochs) =>
        [.. CliRunner.TinyNetwork, .. CliRunner.TinySynthetic(), "--epochs", $"{epochs}", "--lr", "0.05", "--schedule", "exponential",
         "--gamma", "0.9", "--weight-decay", "5e-4", "--seed", "7", "--output", output];

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void ResumeAfterAnEpoch_EqualsTheUninterruptedRun()
    {
        string straight = _temp.File("straight"), split = _temp.File("split");
        CliRunner.Succeeds(["train", .. Recipe(straight, 2)]);
        CliRunner.Succeeds(["train", .. Recipe(split, 1)]);
        var resumed = CliRunner.Succeeds("train", "--resume", split, "--epochs", "2");
        Assert.Contains("Resuming at epoch 2, step 0", resumed.Out);

        AssertSameRun(straight, split);
    }

    [Fact]
    public void CtrlC_MidEpoch_SavesTheStep_AndResumeEqualsTheUninterruptedRun()
    {
        string straight = _temp.File("straight"), split = _temp.File("split");
        CliRunner.Succeeds(["train", .. Recipe(straight, 2)]);

        // Ctrl+C during step 6 (the second of epoch 2): the step finishes, is saved, and the run exits 130.
        using var ctrlC = new CancellationTokenSource();
        var stopped = CliRunner.Run(step => { if (step == 6) ctrlC.Cancel(); }, ctrlC.Token, ["train", .. Recipe(split, 2)]);
        Assert.True(stopped.Code == ExitCodes.Interrupted, stopped.ToString());
        Assert.StartsWith("Interrupted at epoch 2, step 2/4", LastLine(stopped.Out));
        Assert.Equal(6, StepLog.ReadLosses(Path.Combine(split, "steps.csv")).Count);
        Assert.Single(MetricsCsv.Read(Path.Combine(split, "metrics.csv")));

        var resumed = CliRunner.Succeeds("train", "--resume", Path.Combine(split, "last.safetensors"));
        Assert.Contains("Resuming at epoch 2, step 2", resumed.Out);

        AssertSameRun(straight, split);
    }

    [Fact]
    public void ReadingEveryThreeSteps_GivesTheSameRun_AndCtrlCBetweenReadsLosesNoStep()
    {
        string straight = _temp.File("straight"), batched = _temp.File("batched"), split = _temp.File("split");
        CliRunner.Succeeds(["train", .. Recipe(straight, 2)]);
        CliRunner.Succeeds(["train", .. Recipe(batched, 2), "--log-every", "3"]);
        AssertSameRun(straight, batched);

        // Ctrl+C during step 5, two steps after the last read: both are read, logged and saved.
        using var ctrlC = new CancellationTokenSource();
        var stopped = CliRunner.Run(step => { if (step == 5) ctrlC.Cancel(); }, ctrlC.Token, ["train", .. Recipe(split, 2), "--log-every", "3"]);
        Assert.True(stopped.Code == ExitCodes.Interrupted, stopped.ToString());
        Assert.Contains("Interrupted at epoch 2, step 1/4", stopped.Out);
        Assert.Equal(5, StepLog.ReadLosses(Path.Combine(split, "steps.csv")).Count);
        CliRunner.Succeeds("train", "--resume", split);
        AssertSameRun(straight, split);
    }

    [Fact]
    public void TimeLimit_MidEpoch_StopsLikeCtrlC_ButExitsZero_AndResumeEqualsTheUninterruptedRun()
    {
        string straight = _temp.File("straight"), split = _temp.File("split");
        CliRunner.Succeeds(["train", .. Recipe(straight, 2)]);

        // A limit shorter than one step: the first step finishes, is saved, and the run stops.
        var stopped = CliRunner.Succeeds(["train", .. Recipe(split, 2), "--time-limit-minutes", "1e-6"]);
        Assert.Contains("Stopped at the time limit of 1E-06 minutes in epoch 1, at step 1/4", stopped.Out);
        Assert.Single(StepLog.ReadLosses(Path.Combine(split, "steps.csv")));
        Assert.False(File.Exists(Path.Combine(split, "summary.json"))); // no epoch was evaluated

        CliRunner.Succeeds("train", "--resume", split, "--time-limit-minutes", "1000");
        AssertSameRun(straight, split);
    }

    [Fact]
    public void TimeLimit_StopsAtTheEpochBoundary_WhenAnotherEpochWouldNotFit()
    {
        string straight = _temp.File("straight"), split = _temp.File("split");
        CliRunner.Succeeds(["train", .. Recipe(straight, 2)]);

        // Steps of 250 ms on a clock the steps advance make an epoch 1 s; a 1.5 s limit fits the
        // first epoch but not a second.
        var clock = new SteppedClock();
        var env = CliRunner.Environment(_ => clock.Advance(TimeSpan.FromMilliseconds(250)), TestContext.Current.CancellationToken, time: clock);
        var stopped = CliRunner.Run(env, ["train", .. Recipe(split, 2), "--time-limit-minutes", "0.025"]);
        Assert.True(stopped.Code == ExitCodes.Ok, stopped.ToString());
        Assert.StartsWith("Stopped at the time limit of 0.025 minutes after epoch 1", LastLine(stopped.Out)); // after the summary of epoch 1
        Assert.Single(MetricsCsv.Read(Path.Combine(split, "metrics.csv")));
        Assert.Equal(1, RunSummary.Load(Path.Combine(split, "summary.json")).Epochs);

        CliRunner.Succeeds("train", "--resume", split, "--time-limit-minutes", "1000");
        AssertSameRun(straight, split);
    }

    [Fact]
    public void CheckpointEveryMinutes_SavesMidEpoch_AndAKilledRunResumesExactly()
    {
        string straight = _temp.File("straight"), split = _temp.File("split");
        CliRunner.Succeeds(["train", .. Recipe(straight, 2)]);

        // Steps of 250 ms and a checkpoint every 0.6 s: one after step 3 (mid-epoch 1), one at the
        // end of epoch 1 (step 4), one after step 7 (mid-epoch 2). Killed during step 8, unsaved.
        var clock = new SteppedClock();
        var env = CliRunner.Environment(step =>
        {
            clock.Advance(TimeSpan.FromMilliseconds(250));
            if (step == 8) throw new InvalidOperationException("killed");
        }, TestContext.Current.CancellationToken, time: clock);
        var killed = CliRunner.Run(env, ["train", .. Recipe(split, 2), "--checkpoint-every-minutes", "0.01"]);
        Assert.True(killed.Code == ExitCodes.Bug, killed.ToString());
        var saved = SafeTensorsReader.Read(Path.Combine(split, "last.safetensors"));
        saved.TryGet("extra.trainer.position", out var position);
        Assert.Equal([1L, 3L, 7L], position.ToInt64s());

        CliRunner.Succeeds("train", "--resume", split);
        AssertSameRun(straight, split);
    }

    [Fact]
    public void ChangingTheBatchSize_OnAMidEpochResume_IsRefused()
    {
        string split = _temp.File("split");
        using var ctrlC = new CancellationTokenSource();
        var stopped = CliRunner.Run(step => { if (step == 2) ctrlC.Cancel(); }, ctrlC.Token, ["train", .. Recipe(split, 2)]);
        Assert.True(stopped.Code == ExitCodes.Interrupted, stopped.ToString());
        byte[] last = File.ReadAllBytes(Path.Combine(split, "last.safetensors"));

        CliRunner.FailsWith(ExitCodes.Usage, "--batch-size 16: the checkpoint stopped mid-epoch (epoch 1, step 2) with --batch-size 32",
            "train", "--resume", split, "--batch-size", "16");
        Assert.Equal(last, File.ReadAllBytes(Path.Combine(split, "last.safetensors")));
        Assert.Equal(2, StepLog.ReadLosses(Path.Combine(split, "steps.csv")).Count);
    }

    [Fact]
    public void DiskFull_BetweenTheTwoSavesOfAnImprovingEpoch_KeepsWhatWasSaved_AndBestStaysConsistent()
    {
        string straight = _temp.File("straight"), split = _temp.File("split");
        CliRunner.Succeeds(["train", .. Recipe(straight, 2)]);
        Assert.Equal(2, RunSummary.Load(Path.Combine(straight, "summary.json")).BestEpoch); // epoch 2 improves: it saves last and best

        // The fourth checkpoint write is the second of epoch 2 (last and best, in either order).
        int writes = 0;
        byte[]? lastOfEpoch1 = null;
        var env = CliRunner.Environment(cancellation: TestContext.Current.CancellationToken, beforeCheckpoint: _ =>
        {
            if (++writes == 3) lastOfEpoch1 = File.ReadAllBytes(Path.Combine(split, "last.safetensors"));
            if (writes == 4) throw new IOException("No space left on device");
        });
        CliRunner.FailsWith(env, ExitCodes.Output, "No space left on device", ["train", .. Recipe(split, 2)]);
        Assert.Equal(lastOfEpoch1, File.ReadAllBytes(Path.Combine(split, "last.safetensors")));
        Assert.DoesNotContain(Directory.GetFiles(split), f => Igcv3.Engine.IO.AtomicFile.IsTempName(Path.GetFileName(f)));

        // The run's record of its best epoch names the epoch best.safetensors holds.
        CliRunner.Succeeds("train", "--resume", split);
        AssertSameRun(straight, split);
        var best = SafeTensorsReader.Read(Path.Combine(split, "best.safetensors"));
        best.TryGet("extra.trainer.position", out var position);
        Assert.Equal(RunSummary.Load(Path.Combine(split, "summary.json")).BestEpoch, position.ToInt64s()[0]);
    }

    private static string LastLine(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];

    /// <summary>A clock that moves only when told to.</summary>
    private sealed class SteppedClock : TimeProvider
    {
        private long _ticks;

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);
    }

    private static void AssertSameRun(string expected, string actual)
    {
        // Per-step losses: equal as doubles, every step once.
        Assert.Equal(StepLog.ReadLosses(Path.Combine(expected, "steps.csv")), StepLog.ReadLosses(Path.Combine(actual, "steps.csv")));

        // Per-epoch metrics, apart from timings.
        static object[] Numbers(EpochMetrics m) => [m.Epoch, m.LearningRate, m.TrainLoss, m.TrainTop1, m.TestLoss!, m.TestTop1!, m.TestTop5!];
        Assert.Equal(MetricsCsv.Read(Path.Combine(expected, "metrics.csv")).Select(Numbers), MetricsCsv.Read(Path.Combine(actual, "metrics.csv")).Select(Numbers));
        Assert.Equal(MetricsJsonl.Read(Path.Combine(expected, "metrics.jsonl")).Select(Numbers), MetricsJsonl.Read(Path.Combine(actual, "metrics.jsonl")).Select(Numbers));

        // TensorBoard: one file, every epoch and every step once, as in the uninterrupted run.
        static List<TensorBoardEvent> Events(string run) => TensorBoardReader.ReadEvents(Directory.GetFiles(Path.Combine(run, "tensorboard")).Single());
        Assert.Equal(TensorBoardReader.Scalars(Events(expected), "loss/train"), TensorBoardReader.Scalars(Events(actual), "loss/train"));
        Assert.Equal(TensorBoardReader.Scalars(Events(expected), "step/loss"), TensorBoardReader.Scalars(Events(actual), "step/loss"));

        // Final parameters, BN buffers and momentum: byte-identical tensors.
        var a = SafeTensorsReader.Read(Path.Combine(expected, "last.safetensors"));
        var b = SafeTensorsReader.Read(Path.Combine(actual, "last.safetensors"));
        var names = a.Tensors.Select(t => t.Name).Where(n => !n.StartsWith(Checkpoint.ExtraPrefix, StringComparison.Ordinal)).ToList();
        Assert.Equal(names, b.Tensors.Select(t => t.Name).Where(n => !n.StartsWith(Checkpoint.ExtraPrefix, StringComparison.Ordinal)));
        Assert.Contains(names, n => n.StartsWith(Checkpoint.MomentumPrefix, StringComparison.Ordinal));
        foreach (string name in names)
        {
            a.TryGet(name, out var x);
            b.TryGet(name, out var y);
            Assert.True(x.Data.SequenceEqual(y.Data), $"tensor {name} differs after resume");
        }
        b.TryGet("extra.trainer.position", out var position);
        Assert.Equal([2L, 0L, 8L], position.ToInt64s());
    }
}
