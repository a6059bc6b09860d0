using System.Text.Json;
using Igcv3.Bench.Gpu;
using Igcv3.Bench.Modes;
using Igcv3.Bench.Reports;
using Igcv3.Bench.Timing;
using Igcv3.Bench.Workloads;
using Igcv3.Kernels.Cuda;
using Igcv3.Networks;
using Igcv3.Tests.Kernels;
using Xunit;

namespace Igcv3.Tests.Bench;

/// <summary>
/// gpu-report's measuring flow, run without a GPU on a <see cref="RecordingQueue"/> backend with
/// a timer that runs each call once: every way of running the 1x1 convolutions is exercised, and
/// the report it makes is written and read back, so that a first GPU session does not spend its
/// minutes finding a crash in the report.
/// </summary>
public sealed class GpuReportOfflineTests
{
    /// <summary>Runs the work once; "device time" 1 ms a run.</summary>
    private sealed class RunOnceTimer : IOpTimer
    {
        public int Runs;

        public string Method => "run once (test)";

        public TimingResult Time(Action run, TimingPlan plan)
        {
            run();
            Runs++;
            return TimingResult.Of([1.0], Method);
        }
    }

    [Fact]
    public void Measure_TimesEveryWay_AndTheReportCarriesTheStepVariantsAndAutosDecisions()
    {
        // cuBLAS "faster" on every geometry, so Auto's steps run the cuBLAS path end to end.
        var queue = new RecordingQueue { TimingModel = (launches, gemms) => launches.Sum(l => l.Kernel.StartsWith("pointwise_") ? 100.0 : 1.0) + gemms };
        using var gpu = queue.Backend();
        var workload = new Workload("igcv3-d", InputKind.Cifar, 2, 10, 8);
        var traces = new Dictionary<Workload, IReadOnlyList<OpCall>> { [workload] = TrainingStep.Trace(workload) };
        var ceilings = new DeviceCeilings(3000, 1 << 30, TimingResult.Of([1.0], "test"), 50_000, 8192, TimingResult.Of([1.0], "test"), 50 << 20, 130000);
        var timer = new RunOnceTimer();

        var (ops, steps, choices) = GpuReport.Measure(gpu, timer, ceilings, [workload], [workload], traces, TextWriter.Null);

        Assert.Equal(PointwiseGemm.Tiled, gpu.PointwiseGemm); // the backend's own setting is restored
        Assert.Equal(OpCase.Distinct(traces[workload]).Count, ops.Count);
        Assert.All(ops, o => Assert.Equal(o.Op.StartsWith("pointwise."), o.CublasTime is not null));
        Assert.Contains(ops, o => o.CublasTime is not null);
        Assert.Equal([workload.Name, workload.Name + GpuReport.CublasStepSuffix, workload.Name + GpuReport.AutoStepSuffix], steps.Select(s => s.Workload));
        Assert.NotEmpty(choices);
        Assert.All(choices, c => Assert.Equal(PointwiseGemm.Cublas, c.Chosen));

        var report = new BenchReport("igcv3-bench/1", "gpu-report", ReportWriter.CreatedUtc(), null, gpu.Name, "recording", ReportWriter.Runtime,
            ReportWriter.Os, timer.Method, ceilings, [FlopAccounting.Check(workload, traces[workload], ceilings.CopyGBps)], ops, steps, [], null, choices);
        using var folder = new Support.TempFolder();
        ReportWriter.Write(report, folder.Path, "igcv3");
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, "igcv3.json")));
        var first = json.RootElement.GetProperty("pointwise_choices")[0];
        Assert.Equal("cublas", first.GetProperty("chosen").GetString());
        Assert.True(first.GetProperty("tiled_ms").GetDouble() > first.GetProperty("cublas_ms").GetDouble());
        Assert.Equal(3, json.RootElement.GetProperty("steps").GetArrayLength());
        string text = File.ReadAllText(Path.Combine(folder.Path, "igcv3.txt"));
        Assert.Contains($"cuBLAS chosen for {choices.Count} of {choices.Count}", text);
        Assert.Contains(GpuReport.AutoStepSuffix.Trim(), text);
    }
}
