using Igcv3.Bench.Gpu;
using Igcv3.Bench.Timing;
using Igcv3.Bench.Workloads;
using Igcv3.Engine;

namespace Igcv3.Bench.Reports;

/// <summary>
/// Times, on one backend, every distinct call of a workload's training step (replayed directly on
/// the backend at the traced shapes) and whole training steps, and turns the timings into report
/// rows with the cost model. The same code runs the CPU smoke run and the GPU report; only the
/// timer, the plans and the ceilings differ.
/// </summary>
public sealed class BenchRunner(IBackend backend, IOpTimer timer, TimingPlan opPlan, TimingPlan stepPlan, DeviceCeilings? ceilings, IMemoryProbe memory, TextWriter log)
{
    public IBackend Backend => backend;

    public IReadOnlyList<OpResult> RunOps(Workload workload, IReadOnlyList<OpCall> trace)
    {
        var results = new List<OpResult>();
        foreach (var c in OpCase.Distinct(trace))
        {
            var time = TimeCall(c.Call);
            var row = OpResult.Of(workload.Name, c, time, ceilings);
            results.Add(row);
            log.WriteLine($"  {workload.Name,-28} x{c.Count,-3} {time.MedianMs,10:F4} ms  {c.Key}");
        }
        return results;
    }

    /// <summary>Times one call replayed directly on the backend at its traced shapes.</summary>
    public TimingResult TimeCall(OpCall call)
    {
        using (TensorScope.Begin())
        {
            var replay = new OpReplay(call, backend);
            return timer.Time(replay.Run, opPlan);
        }
    }

    public StepResult RunStep(Workload workload, IReadOnlyList<OpCall> trace, IReadOnlyList<OpResult>? ops)
    {
        // The step's network, optimizer state and batch are released when it has been measured,
        // so the next step's peak does not include them (the collector would free them at any time).
        using var scope = TensorScope.Begin();
        var step = new TrainingStep(workload, backend);
        memory.Reset();
        var time = timer.Time(() =>
        {
            step.Run();
            (memory as ManagedHeapProbe)?.Sample();
        }, stepPlan);
        long? peak = memory.Read();
        long bytes = FlopAccounting.TraceBytes(trace);
        double? sumOfOps = ops is { Count: > 0 } ? ops.Sum(o => (o.Time?.MedianMs ?? 0) * o.Count) : null;
        log.WriteLine($"  {workload.Name,-28} step {time.MedianMs,10:F3} ms  {workload.Batch / (time.MedianMs * 1e-3),10:F1} images/s");
        return new StepResult(workload.Name, workload.Batch, step.Parameters.Count, time, workload.Batch / (time.MedianMs * 1e-3),
            peak, memory.Source, FlopAccounting.TraceFlops(trace), bytes, trace.Count,
            ceilings is null ? null : Math.Max(bytes / (ceilings.CopyGBps * 1e9), FlopAccounting.TraceFlops(trace) / (ceilings.SgemmGflops * 1e9)) * 1e3,
            sumOfOps);
    }
}
