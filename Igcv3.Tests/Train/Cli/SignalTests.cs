using System.Diagnostics;
using Igcv3.Tests.Support;
using Igcv3.Train.Commands;
using Igcv3.Train.Logging;
using Igcv3.Train.Training;
using Xunit;

namespace Igcv3.Tests.Train.Cli;

/// <summary>
/// SIGTERM, how Slurm, Docker and Kubernetes stop a job, does what Ctrl+C does: the trainer (a
/// real process here, since the signal handler is the program's own) finishes the step, saves
/// last.safetensors and exits with 130.
/// </summary>
public sealed class SignalTests
{
    [Fact]
    public async Task Sigterm_SavesACheckpoint_AndExits130()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) Assert.Skip("SIGTERM is a POSIX signal");
        string program = Path.Combine(AppContext.BaseDirectory, "Igcv3.Train");
        using var temp = new TempFolder();
        string run = temp.File("run");
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in (string[])["train", .. CliRunner.TinyNetwork, .. CliRunner.TinySynthetic(), "--epochs", "1000", "--output", run])
            start.ArgumentList.Add(arg);

        using var trainer = Process.Start(start)!;
        var stderr = trainer.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        // Wait for the first progress line: training has begun.
        string? line;
        while ((line = trainer.StandardOutput.ReadLine()) is not null && !line.StartsWith("epoch 1/1000 [", StringComparison.Ordinal)) { }
        Assert.NotNull(line);
        Process.Start("kill", ["-TERM", $"{trainer.Id}"])!.WaitForExit();
        string rest = trainer.StandardOutput.ReadToEnd();
        Assert.True(trainer.WaitForExit(TimeSpan.FromSeconds(60)), "the trainer did not exit after SIGTERM");
        string errors = await stderr;

        Assert.True(trainer.ExitCode == ExitCodes.Interrupted, $"exit {trainer.ExitCode}\n{rest}\n{errors}");
        Assert.Contains("SIGTERM: finishing the current step and saving a checkpoint", errors);
        Assert.Contains("Interrupted at epoch", rest);
        long saved = Igcv3.Engine.Checkpoints.SafeTensorsReader.Read(Path.Combine(run, "last.safetensors")).TryGet("extra.trainer.position", out var p) ? p.ToInt64s()[2] : -1;
        Assert.Equal(StepLog.ReadLosses(Path.Combine(run, "steps.csv")).Count, saved);
    }
}
