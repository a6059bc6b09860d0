using Igcv3.Bench.Workloads;
using Igcv3.Engine.Nn;

namespace Igcv3.Bench.Reports;

/// <summary>
/// Counting a training step's arithmetic and memory traffic, two independent ways:
/// <list type="bullet">
/// <item>from the network's summary (per-layer multiply-adds, the papers' FLOPs): a step is one
/// forward and a backward of twice the forward's products (input and weight gradients), so
/// 3 · 2 · MACs per image · batch;</item>
/// <item>from the step's trace: every call's own products (the stem's input gradient is never
/// computed, so this is a little under the first), and every call's bytes.</item>
/// </list>
/// </summary>
public static class FlopAccounting
{
    /// <summary>H100 SXM HBM3 datasheet bandwidth, 3.35 TB/s: the figure the 5.3 ms / 2.0 ms
    /// estimates are scaled by. A lead only: reports divide by the copy bandwidth they measure.</summary>
    public const double H100NominalGBps = 3350;

    /// <summary>6 · MACs(batch) from <see cref="ModelSummary"/>: the usual training-step estimate.</summary>
    public static long SummaryStepFlops(Workload w)
    {
        var summary = ModelSummary.Of(w.Create(), w.InputShape);
        return 3 * 2 * summary.TotalMultiplyAdds;
    }

    public static long TraceFlops(IEnumerable<OpCall> calls) => calls.Sum(c => c.Flops);

    public static long TraceBytes(IEnumerable<OpCall> calls) => calls.Sum(c => c.Bytes);

    public static RooflineCheck Check(Workload w, IReadOnlyList<OpCall> trace, double? measuredGBps)
    {
        long bytes = TraceBytes(trace);
        return new RooflineCheck(w.Name, TraceFlops(trace) / 1e9, SummaryStepFlops(w) / 1e9, bytes / 1e9,
            H100NominalGBps, bytes / (H100NominalGBps * 1e9) * 1e3, measuredGBps is double g ? bytes / (g * 1e9) * 1e3 : null);
    }
}
