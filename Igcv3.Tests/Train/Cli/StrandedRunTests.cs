using Igcv3.Engine.IO;
using Igcv3.Tests.Support;
using Igcv3.Train.Commands;
using Igcv3.Train.Logging;
using Igcv3.Train.Training;
using Xunit;

namespace Igcv3.Tests.Train.Cli;

/// <summary>
/// A run killed before its first checkpoint (kill -9, out of memory) leaves a folder with logs
/// and no checkpoint: a new run takes it over, and --resume starts it again from its config.json,
/// each saying so in one line. Temporary files of a write that a kill cut short are removed.
/// </summary>
public sealed class StrandedRunTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private static string[] Recipe(string output) =>
        [.. CliRunner.TinyNetwork, .. CliRunner.TinySynthetic(), "--epochs", "1", "--seed", "3", "--output", output];

    /// <summary>Kills a run at its second step as kill -9 would (no checkpoint, nothing saved); leaves a temporary file as a cut-short write does.</summary>
    private string StrandedRun()
    {
        string run = _temp.File("run");
        var killed = CliRunner.Run(step => { if (step == 2) throw new KilledException(); }, TestContext.Current.CancellationToken, ["train", .. Recipe(run)]);
        Assert.NotEqual(ExitCodes.Ok, killed.Code);
        Assert.False(File.Exists(Path.Combine(run, "last.safetensors")));
        Assert.True(File.Exists(Path.Combine(run, "steps.csv")));
        File.WriteAllBytes(Path.Combine(run, ".last.safetensors.tmp-0123456789ab"), [1, 2, 3]);
        File.WriteAllText(Path.Combine(run, "notes.txt"), "mine");
        return run;
    }

    private sealed class KilledException : Exception;

    private static void AssertOneCleanRun(string run)
    {
        Assert.Equal([1L, 2, 3, 4], StepLog.ReadLosses(Path.Combine(run, "steps.csv")).Select(l => l.Step));
        Assert.Single(MetricsCsv.Read(Path.Combine(run, "metrics.csv")));
        Assert.Single(Directory.GetFiles(Path.Combine(run, "tensorboard")));
        Assert.DoesNotContain(Directory.GetFiles(run), f => AtomicFile.IsTempName(Path.GetFileName(f)));
        Assert.Equal("mine", File.ReadAllText(Path.Combine(run, "notes.txt")));
        Assert.True(File.Exists(Path.Combine(run, "last.safetensors")));
    }

    [Fact]
    public void ANewRun_TakesOverAFolderWithNoCheckpoint()
    {
        string run = StrandedRun();
        var again = CliRunner.Succeeds(["train", .. Recipe(run)]);
        Assert.Contains($"output folder {run} holds a run that stopped before its first checkpoint: starting afresh in it", again.Out);
        AssertOneCleanRun(run);
    }

    [Fact]
    public void Resume_OfAFolderWithNoCheckpoint_StartsTheRunAgain()
    {
        string run = StrandedRun();
        var resumed = CliRunner.Succeeds("train", "--resume", run);
        Assert.Contains($"{run} holds no checkpoint yet (the run stopped before its first): starting it again from its config.json", resumed.Out);
        AssertOneCleanRun(run);
    }
}
