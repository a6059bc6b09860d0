using Igcv3.Engine.Checkpoints;
using Igcv3.Tests.Support;
using Igcv3.Train.Commands;
using Igcv3.Train.Data;
using Igcv3.Train.Logging;
using Igcv3.Train.Training;
using Xunit;

namespace Igcv3.Tests.Train.Cli;

/// <summary>
/// The whole trainer path data-parallel on the CPU (--cpu-workers N: threads joined by the in-process
/// communicator, as --gpus joins GPUs by NCCL): W workers at batch b with --sync-bn train as one
/// worker at batch W·b (within float tolerance: the gradients are averaged, not summed in one
/// pass), rank 0 alone writes, a checkpoint resumes on another number of workers, Ctrl+C stops
/// every worker at the same step, and a failing worker stops the rest.
/// </summary>
public sealed class DataParallelCliTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    // 128 images: one worker at batch 32, or W workers at 32/W, take 4 steps an epoch.
    private static string[] Recipe(string output, int epochs, int workers) =>
        [.. CliRunner.TinyNetwork, .. CliRunner.TinySynthetic(), "--batch-size", $"{32 / workers}", "--cpu-workers", $"{workers}", "--sync-bn",
         "--epochs", $"{epochs}", "--lr", "0.05", "--gamma", "0.9", "--weight-decay", "5e-4", "--seed", "7", "--output", output];

    /// <summary>Every parameter, BN buffer and momentum of two runs' last.safetensors, within <paramref name="tolerance"/>.</summary>
    internal static void AssertSameWeights(string expected, string actual, double tolerance)
    {
        var a = SafeTensorsReader.Read(Path.Combine(expected, "last.safetensors"));
        var b = SafeTensorsReader.Read(Path.Combine(actual, "last.safetensors"));
        var names = a.Tensors.Select(t => t.Name).Where(n => !n.StartsWith(Checkpoint.ExtraPrefix, StringComparison.Ordinal)).ToList();
        Assert.Contains(names, n => n.StartsWith(Checkpoint.MomentumPrefix, StringComparison.Ordinal));
        double worst = 0;
        string where = "";
        foreach (string name in names)
        {
            a.TryGet(name, out var x);
            Assert.True(b.TryGet(name, out var y), $"{actual} has no tensor {name}");
            var xs = x.ToFloats();
            var ys = y.ToFloats();
            for (int i = 0; i < xs.Length; i++)
            {
                double d = Math.Abs(xs[i] - ys[i]) / (1 + Math.Abs(xs[i]));
                if (d > worst) (worst, where) = (d, $"{name}[{i}]: {ys[i]} vs {xs[i]}");
            }
        }
        Assert.True(worst <= tolerance, $"{actual} differs from {expected}: {where} (relative {worst:G3} > {tolerance:G3})");
    }

    private static int StepRows(string run) => StepLog.ReadLosses(Path.Combine(run, "steps.csv")).Count;

    [Fact]
    public void TwoAndFourWorkers_WithSyncBn_TrainAsOneWorkerWithTheWholeBatch_AndOnlyRankZeroWrites()
    {
        string one = _temp.File("one"), two = _temp.File("two"), four = _temp.File("four");
        CliRunner.Succeeds(["train", .. Recipe(one, 1, 1)]);
        var run = CliRunner.Succeeds(["train", .. Recipe(two, 1, 2)]);
        CliRunner.Succeeds(["train", .. Recipe(four, 1, 4)]);

        Assert.Contains("Data parallel: 2 data-parallel workers on the CPU (threads); --batch-size 16 per worker, 32 in all per step; batch norm synchronised", run.Out);
        AssertSameWeights(one, two, 1e-4);
        AssertSameWeights(one, four, 1e-4);
        // One writer: one row per step (not per worker), one epoch line, one summary.
        Assert.Equal(4, StepRows(two));
        Assert.Single(MetricsCsv.Read(Path.Combine(two, "metrics.csv")));
        Assert.Equal(1, RunSummary.Load(Path.Combine(two, "summary.json")).Epochs);
        Assert.Equal("2", SafeTensorsReader.Read(Path.Combine(two, "last.safetensors")).Metadata[Trainer.WorldSizeKey]);
    }

    [Fact]
    public void ACheckpointOfTwoWorkers_ResumesOnOneAndOnFour_AsTheUninterruptedRun()
    {
        string straight = _temp.File("straight"), onOne = _temp.File("on-one"), onFour = _temp.File("on-four");
        CliRunner.Succeeds(["train", .. Recipe(straight, 2, 1)]);
        foreach (var (run, workers) in new[] { (onOne, 1), (onFour, 4) })
        {
            CliRunner.Succeeds(["train", .. Recipe(run, 1, 2)]);
            // The workers are this invocation's: none is taken from the checkpoint.
            var resumed = CliRunner.Succeeds("train", "--resume", run, "--epochs", "2", "--cpu-workers", $"{workers}", "--batch-size", $"{32 / workers}");
            Assert.Contains("Resuming at epoch 2, step 0", resumed.Out);
            Assert.Equal(workers > 1, resumed.Out.Contains("Data parallel:", StringComparison.Ordinal));
            Assert.Equal(8, StepRows(run));
            AssertSameWeights(straight, run, 2e-4);
        }
    }

    [Fact]
    public void CtrlC_StopsEveryWorkerAtTheSameStep_AndAMidEpochResumeKeepsTheWorkerCount()
    {
        string run = _temp.File("run");
        using var ctrlC = new CancellationTokenSource();
        var stopped = CliRunner.Run(step => { if (step == 3) ctrlC.Cancel(); }, ctrlC.Token, ["train", .. Recipe(run, 2, 2)]);
        Assert.True(stopped.Code == ExitCodes.Interrupted, stopped.ToString());
        Assert.Contains("Interrupted at epoch 1, step 3/4", stopped.Out);
        Assert.Equal(3, StepRows(run));

        CliRunner.FailsWith(ExitCodes.Usage, "on 2 data-parallel worker(s), and 1 would split the rest of that epoch differently", "train", "--resume", run, "--cpu-workers", "1");
        CliRunner.Succeeds("train", "--resume", run, "--cpu-workers", "2");
        Assert.Equal(8, StepRows(run));
    }

    [Fact]
    public void AWorkerThatFails_StopsTheOthers_WithItsError()
    {
        string run = _temp.File("run");
        var env = CliRunner.Environment(step => { if (step == 2) throw new DataException("image 17 is unreadable (injected)"); }, TestContext.Current.CancellationToken);
        var failed = CliRunner.FailsWith(env, ExitCodes.Data, "image 17 is unreadable (injected)", ["train", .. Recipe(run, 1, 4)]);
        Assert.Equal(2, StepRows(run));
    }

    [Fact]
    public void Help_SaysTheBatchSizeIsPerGpu_AndBadLaunchesAreRefused()
    {
        var help = CliRunner.Run("train", "--help");
        Assert.Contains("PER GPU", help.Out);
        CliRunner.FailsWith(ExitCodes.Usage, "--cpu-workers runs on the CPU backend, but --device is cuda", ["train", .. CliRunner.TinySynthetic(), "--cpu-workers", "2", "--device", "cuda"]);
        CliRunner.FailsWith(ExitCodes.Usage, "--gpus 0,x: 'x' is not a GPU number", ["train", .. CliRunner.TinySynthetic(), "--gpus", "0,x"]);
        CliRunner.FailsWith(ExitCodes.Usage, "larger than each of the 8 workers' share of the training set (16 images)",
            ["train", .. CliRunner.TinyNetwork, .. CliRunner.TinySynthetic(), "--cpu-workers", "8", "--output", _temp.File("big")]);
    }
}
