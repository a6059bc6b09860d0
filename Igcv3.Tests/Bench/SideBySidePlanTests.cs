using System.Diagnostics;
using System.Text.Json;
using Igcv3.Bench.Modes;
using Igcv3.Bench.Reports;
using Igcv3.Tests.Support;
using Xunit;

namespace Igcv3.Tests.Bench;

/// <summary>
/// The PyTorch side-by-side script builds its networks from its own plan (sbs_core.plan); on the
/// GPU host it refuses to compare timings when that plan differs from ours. These checks run that
/// comparison here, without torch, so that a mismatch costs no device time: our exported shapes
/// against the plan, layer by layer and in total, for every standard workload; and the script's
/// own unit tests. Skipped where python3 or the checkout's Igcv3.Bench/pytorch is absent.
/// </summary>
public sealed class SideBySidePlanTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private static string ScriptFolder()
    {
        var root = RepositoryRoot.Find();
        string? folder = root is null ? null : Path.Combine(root.FullName, "Igcv3.Bench", "pytorch");
        if (folder is null || !File.Exists(Path.Combine(folder, "sbs_core.py")))
            Assert.Skip("Igcv3.Bench/pytorch is not beside this test binary (a published copy): run from the checkout");
        return folder;
    }

    private static (int Code, string Output) Python(string folder, params string[] args)
    {
        var start = new ProcessStartInfo("python3") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        Process? process;
        try
        {
            process = Process.Start(start);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Assert.Skip("python3 is not on PATH");
            throw;
        }
        using var python = process ?? throw new InvalidOperationException("python3 did not start");
        var stdout = python.StandardOutput.ReadToEndAsync();
        string stderr = python.StandardError.ReadToEnd();
        python.WaitForExit();
        return (python.ExitCode, stdout.Result + stderr);
    }

    [Fact]
    public void ThePyTorchPlan_MatchesOurNetworks_LayerByLayer()
    {
        string folder = ScriptFolder();
        string shapes = _temp.File("shapes.json");
        File.WriteAllText(shapes, JsonSerializer.Serialize(ExportShapes.Build(), ReportWriter.Json));
        const string check = """
            import json, sys
            import sbs_core as c
            bad = 0
            for w in json.load(open(sys.argv[1]))["workloads"]:
                layers = c.plan(w["network"], cifar=w["input"] == "cifar", classes=w["classes"])
                mismatches, total = c.compare_params(layers, w["layers"]), c.plan_params(layers)
                print(w["workload"], "plan", total, "ours", w["parameters"], "mismatched layers", mismatches[:3])
                bad += bool(mismatches) or total != w["parameters"]
            sys.exit(1 if bad else 0)
            """;
        var (code, output) = Python(folder, "-c", check, shapes);
        Assert.True(code == 0, output);
        Assert.Equal(4, output.Split('\n').Count(l => l.Contains(" plan ")));
    }

    [Fact]
    public void TheScriptsUnitTests_Pass()
    {
        var (code, output) = Python(ScriptFolder(), "-m", "unittest", "test_sbs_core");
        Assert.True(code == 0, output);
        Assert.Contains("OK", output);
    }
}
