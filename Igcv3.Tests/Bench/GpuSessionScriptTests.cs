using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text.RegularExpressions;
using Igcv3.Tests.Support;
using Xunit;

namespace Igcv3.Tests.Bench;

/// <summary>
/// Igcv3.Bench/gpu-session.sh, the one prepared call of a GPU session: it parses, its stages run
/// in the issue's order with limits that fit the call's 9 minutes, and even when nothing can run
/// (no .device packed) it leaves exactly the three files the device tool brings back, the
/// summary naming every stage. The full rehearsal (`--rehearsal`, minutes) is run by hand.
/// </summary>
public sealed partial class GpuSessionScriptTests
{
    /// <summary>The device tool's call limit is 10 minutes; the issue asks for 9.</summary>
    const int CallSeconds = 9 * 60;

    static readonly string[] StageOrder =
        ["setup", "nvrtc", "gpu-tests", "sync-rerun", "memcheck", "racecheck", "report", "sbs", "train", "sbs-compile"];

    static string Script(string name)
    {
        if (OperatingSystem.IsWindows()) Assert.Skip("bash scripts");
        var root = RepositoryRoot.Find();
        if (root is null) Assert.Skip("no checkout beside this test binary (a published copy)");
        return Path.Combine(root!.FullName, "Igcv3.Bench", name);
    }

    static (int Code, string Output) Bash(string script, IReadOnlyDictionary<string, string>? environment = null, params string[] args)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) start.Environment[k] = v;
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout + stderr.Result);
    }

    [Theory]
    [InlineData("gpu-session.sh")]
    [InlineData("prepare-device.sh")]
    public void Script_Parses(string name)
    {
        var (code, output) = Bash("-n", null, Script(name));
        Assert.True(code == 0, output);
    }

    [Fact]
    public void Plan_RunsTheIssuesStagesInOrder_AndTheirLimitsFitTheCall()
    {
        var (code, output) = Bash(Script("gpu-session.sh"), null, "--plan");
        Assert.True(code == 0, output);
        var entries = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(':')).ToDictionary(p => p[0], p => p[1]);
        var stages = entries.Keys.Where(k => k is not ("budget" or "reserve")).ToArray();
        Assert.Equal(StageOrder, stages);
        Assert.Equal("rest", entries["sbs-compile"]);   // torch.compile only in the time left

        int budget = int.Parse(entries["budget"]), reserve = int.Parse(entries["reserve"]);
        var limits = stages[..^1].Select(s => int.Parse(entries[s])).ToArray();
        Assert.All(limits, l => Assert.InRange(l, 5, 600));
        Assert.True(budget <= CallSeconds, $"budget {budget} s is over the call's {CallSeconds} s");
        Assert.True(limits.Sum() + reserve <= budget, $"stage limits {limits.Sum()} s + packing {reserve} s exceed the {budget} s budget");
    }

    [Fact]
    public void WithoutAPack_SetupFails_AndOutHoldsExactlyTheThreeFiles()
    {
        using var pack = new TempFolder();   // empty: no runtime, no app
        using var output = new TempFolder();
        var (code, log) = Bash(Script("gpu-session.sh"), new Dictionary<string, string> { ["OUT"] = output.Path, ["IGCV3_DEVICE_DIR"] = pack.Path }, "--rehearsal");

        Assert.True(code != 0, log);
        Assert.Equal(["log-tail.txt", "session.tar.gz", "summary.txt"], output.Entries());
        Assert.All(output.Entries(), name => Assert.Matches(AllowedName(), name));

        var summary = File.ReadAllLines(output.File("summary.txt"));
        Assert.Contains(summary, l => l.StartsWith("setup", StringComparison.Ordinal) && l.Contains("failed") && l.Contains("prepare-device.sh"));
        foreach (var stage in StageOrder) Assert.Contains(summary, l => l.StartsWith(stage + " ", StringComparison.Ordinal));
        Assert.Contains("prepare-device.sh", File.ReadAllText(output.File("log-tail.txt")));

        var archived = new List<string>();
        using (var tar = new TarReader(new GZipStream(File.OpenRead(output.File("session.tar.gz")), CompressionMode.Decompress)))
        {
            while (tar.GetNextEntry() is { } entry) archived.Add(entry.Name);
        }
        Assert.Contains("session/setup.log", archived);
        Assert.Contains("session/summary.txt", archived);
    }

    /// <summary>What the device tool brings back: letters, digits, '.', '_' and '-'.</summary>
    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex AllowedName();
}
