using Igcv3.Bench.Reports;
using Igcv3.Bench.Timing;
using Igcv3.Bench.Workloads;
using Igcv3.Engine.Cpu;

namespace Igcv3.Bench.Modes;

/// <summary>
/// `cpu-smoke`: one untimed-quality pass of every benchmark on the CPU reference backend, at tiny
/// sizes (<see cref="Workload.Smoke"/>): every distinct call of every network's training step
/// replayed once, and one training step of each. It proves in seconds that the benchmarks still
/// build, trace and run (CI runs it), not how fast anything is.
/// </summary>
public static class CpuSmoke
{
    public static BenchReport Run(TextWriter log, IReadOnlyList<Workload>? workloads = null)
    {
        workloads ??= Workload.Smoke;
        var backend = CpuBackend.Instance;
        var timer = new HostClockTimer(backend.Synchronize);
        var runner = new BenchRunner(backend, timer, TimingPlan.Smoke, TimingPlan.Smoke, ceilings: null, new ManagedHeapProbe(), log);
        var ops = new List<OpResult>();
        var steps = new List<StepResult>();
        var roofline = new List<RooflineCheck>();
        foreach (var w in workloads)
        {
            var trace = TrainingStep.Trace(w);
            roofline.Add(FlopAccounting.Check(w, trace, measuredGBps: null));
            var rows = runner.RunOps(w, trace);
            ops.AddRange(rows);
            steps.Add(runner.RunStep(w, trace, rows));
        }
        return new BenchReport("igcv3-bench/1", "cpu-smoke", ReportWriter.CreatedUtc(), ReportWriter.Commit(), backend.Name, "cpu",
            ReportWriter.Runtime, ReportWriter.Os, timer.Method + " (one run each: a smoke test, not a measurement)",
            Ceilings: null, roofline, ops, steps, ["tiny sizes; the figures say that every benchmark runs, not how fast"]);
    }
}
