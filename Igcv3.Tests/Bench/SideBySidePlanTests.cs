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
/// own unit tests; and, where a python3 has torch (a CPU build will do), the script's PyTorch half
/// run once on the CPU. Skipped where python3 or the checkout's Igcv3.Bench/pytorch is absent.
/// </summary>
public sealed class SideBySidePlanTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private static string ScriptFolder() => BenchPython.ScriptFolder();

    private static (int Code, string Output) Python(string folder, params string[] args)
    {
        var result = BenchPython.Run("python3", folder, args);
        if (result.Code == -1) Assert.Skip("python3 is not on PATH");
        return result;
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

    /// <summary>The script's PyTorch half on the CPU (dry_run_cpu.py): every op callable and a
    /// training step per network run once at batch 8, so a broken callable costs no device time.</summary>
    [Fact]
    public void ThePyTorchOpCallables_RunOnTheCpu()
    {
        string folder = ScriptFolder();
        string python = BenchPython.InterpreterWith("torch");
        string shapes = _temp.File("shapes.json");
        File.WriteAllText(shapes, JsonSerializer.Serialize(ExportShapes.Build(), ReportWriter.Json));
        var (code, output) = BenchPython.Run(python, folder, "dry_run_cpu.py", "--shapes", shapes);
        Assert.True(code == 0, output);
        Assert.Matches(@"dry run: \d{3,} op callables and steps ran, 0 failed", output);
    }

    [Fact]
    public void TheScriptsUnitTests_Pass()
    {
        var (code, output) = Python(ScriptFolder(), "-m", "unittest", "test_sbs_core");
        Assert.True(code == 0, output);
        Assert.Contains("OK", output);
    }
}
