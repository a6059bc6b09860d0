using System.Text.Json;
using Igcv3.Bench.Modes;
using Igcv3.Bench.Reports;
using Igcv3.Bench.Timing;
using Igcv3.Bench.Workloads;
using Igcv3.Engine;
using Igcv3.Engine.Cpu;
using Xunit;

namespace Igcv3.Tests.Bench;

/// <summary>The CPU smoke run that CI relies on to keep the benchmarks from rotting.</summary>
public class CpuSmokeTests
{
    /// <summary>One smoke run shared by the tests of this file.</summary>
    internal static readonly Lazy<BenchReport> s_report = new(() => CpuSmoke.Run(TextWriter.Null));

    [Fact]
    public void Report_HasARow_ForEveryDistinctCallOfEverySmokeWorkload_EachTimed()
    {
        var report = s_report.Value;
        foreach (var w in Workload.Smoke)
        {
            var expected = OpCase.Distinct(TrainingStep.Trace(w)).Select(c => c.Key).ToHashSet();
            var got = report.Ops.Where(o => o.Workload == w.Name).Select(o => o.Key).ToHashSet();
            Assert.Equal(expected.Order(), got.Order());
        }
        // Every op was timed. A zero reading is legitimate: a 3-element op can finish within one tick
        // of a coarse host clock, so only a finite, non-negative median over at least one run is required.
        Assert.All(report.Ops, o => Assert.True(o.Time is { MedianMs: >= 0 and < double.PositiveInfinity, Reps: >= 1 }, o.Key));
    }

    [Fact]
    public void Report_CoversEveryOpATrainingStepUses_ForwardAndBackward()
    {
        var ops = s_report.Value.Ops.Select(o => o.Op).ToHashSet();
        string[] expected =
        [
            "fill", "add", "accumulate", "conv2d.forward", "conv2d.backward", "pointwise.forward", "pointwise.backward",
            "depthwise.forward", "depthwise.backward", "batchnorm.forward", "batchnorm.backward", "avgpool.forward",
            "avgpool.backward", "linear.forward", "linear.backward", "xent.forward", "xent.backward", "sgd",
        ];
        Assert.All(expected, op => Assert.Contains(op, ops));
    }

    [Fact]
    public void Report_HasATrainingStep_PerWorkload_WithThroughputAndMemory()
    {
        var steps = s_report.Value.Steps;
        Assert.Equal(Workload.Smoke.Select(w => w.Name), steps.Select(s => s.Workload));
        Assert.All(steps, s =>
        {
            Assert.True(s.ImagesPerSecond > 0, s.Workload);
            Assert.True(s.PeakMemoryBytes > 0, s.Workload);
        });
    }

    [Fact]
    public void Report_RoundTripsThroughJson_AndFormats()
    {
        var json = JsonSerializer.Serialize(s_report.Value, ReportWriter.Json);
        using var doc = JsonDocument.Parse(json);
        Assert.Equal(s_report.Value.Ops.Count, doc.RootElement.GetProperty("ops").GetArrayLength());
        Assert.True(doc.RootElement.GetProperty("ops")[0].GetProperty("time").GetProperty("median_ms").GetDouble() > 0);
        Assert.Contains("training step", ReportWriter.Format(s_report.Value));
    }

    [Fact]
    public void Replay_BindsTheOpsNoNetworkHereUses()
    {
        // Channel shuffle, max pool and a standalone activation appear in other networks; trace a
        // small graph that uses them and replay every call on the CPU.
        var trace = new TraceBackend();
        var x = Tensor.Zeros(trace, [3, 5, 5, 6]);
        x.RequiresGrad = true;
        var y = Ops.MaxPool(Ops.Relu6(Ops.ChannelShuffle(x, 3)), new PoolSpec(3, 2, 1));
        y.Backward(Tensor.Zeros(trace, y.Shape));
        var ops = trace.Calls.Select(c => c.Op).ToHashSet();
        Assert.Superset(new HashSet<string> { "shuffle.forward", "shuffle.backward", "maxpool.forward", "maxpool.backward", "activation.forward", "activation.backward" }, ops);
        Assert.Subset(OpReplay.KnownOps.ToHashSet(), ops);
        foreach (var call in trace.Calls) new OpReplay(call, CpuBackend.Instance).Run();
    }

    [Fact]
    public void ExportShapes_CarriesTheSpecsParameterCounts()
    {
        var file = ExportShapes.Build([new Workload("igcv3-d", Igcv3.Networks.InputKind.Cifar, 2, 10), new Workload("mobilenetv2", Igcv3.Networks.InputKind.Cifar, 2, 10)]);
        // IGC_SPEC.md's CIFAR-10 counts.
        Assert.Equal(2_223_498, file.Workloads[0].Parameters);
        Assert.Equal(2_236_682, file.Workloads[1].Parameters);
        Assert.All(file.Workloads, w => Assert.Equal(w.Parameters, w.Layers.Sum(l => l.Parameters)));
    }
}

/// <summary>How the report shows the tiled-versus-cuBLAS comparison of the 1x1 convolutions.</summary>
public class CublasComparisonFormatTests
{
    private static TimingResult Ms(double median) => new(median, median, median, median, median, 10, "test");

    [Fact]
    public void PointwiseRows_ShowTheRatio_AndEachWorkloadGetsAStepTotalWeightedByCount()
    {
        var report = CpuSmokeTests.s_report.Value;
        var pointwise = report.Ops.Where(o => o.Op.StartsWith("pointwise.")).ToList();
        Assert.NotEmpty(pointwise);
        // Ours takes 2 ms per call, cuBLAS 4 ms, on every pointwise call.
        var ops = report.Ops.Select(o => o.Op.StartsWith("pointwise.") ? o with { Time = Ms(2), CublasTime = Ms(4) } : o).ToList();
        var text = ReportWriter.Format(report with { Ops = ops });

        Assert.All(ops.Where(o => o.CublasTime is not null), o => Assert.Equal(0.5, o.OursOverCublas));
        Assert.All(report.Ops.Where(o => !o.Op.StartsWith("pointwise.")), o => Assert.Null(o.OursOverCublas));
        foreach (var w in pointwise.GroupBy(o => o.Workload))
        {
            int calls = w.Sum(o => o.Count);
            Assert.Contains($"pointwise per step, {w.Key}: ours {2.0 * calls:F3} ms, cuBLAS {4.0 * calls:F3} ms (count x median; ours/cuBLAS 0.50)", text);
        }
        Assert.DoesNotContain("pointwise per step", ReportWriter.Format(report));
    }

    [Fact]
    public void LoaderMode_ReportsImagesPerSecondForEachEpoch()
    {
        var log = new StringWriter();
        Assert.Equal(0, LoaderThroughput.Run(batch: 500, epochs: 1, log));
        string[] lines = log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("epoch 0: 100 batches of 500 in ", lines[0]);
        Assert.Matches(@"^loader: median \d+ images/s over 1 epochs", lines[^1]);
    }
}
