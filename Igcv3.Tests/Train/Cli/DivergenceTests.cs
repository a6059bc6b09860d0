using Igcv3.Engine.Checkpoints;
using Igcv3.Tests.Support;
using Igcv3.Train.Commands;
using Igcv3.Train.Logging;
using Igcv3.Train.Training;
using Xunit;

namespace Igcv3.Tests.Train.Cli;

/// <summary>
/// A run whose loss stops being finite is stopped with one line naming the step and the learning
/// rate, the diverged exit code, and nothing of the diverged state saved: no best.safetensors from
/// it, last.safetensors left at the last finite checkpoint, no metrics of a NaN epoch.
/// </summary>
public sealed class DivergenceTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private static string[] Recipe(string output, int epochs, string lr) =>
        [.. CliRunner.TinyNetwork, .. CliRunner.TinySynthetic(), "--epochs", $"{epochs}", "--lr", lr, "--schedule", "exponential", "--seed", "7", "--output", output];

    [Fact]
    public void AHugeLearningRate_StopsTheRun_AndSavesNothing()
    {
        string run = _temp.File("run");
        var result = CliRunner.FailsWith(ExitCodes.Diverged, "the run diverged and was stopped; no checkpoint had been saved. Start again with a lower --lr (this run's is 1E+06)",
            ["train", .. Recipe(run, 2, "1e6")]);
        Assert.Matches(@"error: the (training|test) loss is (NaN|∞|-∞|Infinity)", result.Error);
        Assert.False(File.Exists(Path.Combine(run, "last.safetensors")));
        Assert.False(File.Exists(Path.Combine(run, "best.safetensors")));
        Assert.False(File.Exists(Path.Combine(run, "summary.json")));
        Assert.Empty(MetricsCsv.Read(Path.Combine(run, "metrics.csv")));
    }

    [Fact]
    public void DivergingAfterACheckpoint_LeavesItAsItWas()
    {
        string run = _temp.File("run");
        CliRunner.Succeeds(["train", .. Recipe(run, 1, "0.05")]);
        byte[] last = File.ReadAllBytes(Path.Combine(run, "last.safetensors")), best = File.ReadAllBytes(Path.Combine(run, "best.safetensors"));

        var result = CliRunner.FailsWith(ExitCodes.Diverged, "last.safetensors is left as it was. Continue it at a lower rate (train --resume",
            "train", "--resume", run, "--epochs", "3", "--lr", "1e6");
        Assert.Contains("after epoch 2 (learning rate 9.8E+05)", result.Error); // exponential, gamma 0.98
        Assert.Equal(last, File.ReadAllBytes(Path.Combine(run, "last.safetensors")));
        Assert.Equal(best, File.ReadAllBytes(Path.Combine(run, "best.safetensors")));
        Assert.Single(MetricsCsv.Read(Path.Combine(run, "metrics.csv")));
    }
}
