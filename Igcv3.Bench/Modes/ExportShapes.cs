using Igcv3.Bench.Reports;
using Igcv3.Bench.Workloads;
using Igcv3.Engine.Nn;

namespace Igcv3.Bench.Modes;

/// <summary>A layer of the network summary as written to JSON.</summary>
public sealed record LayerJson(string Name, string Kind, int[] Output, long Parameters, long MultiplyAdds);

/// <summary>One workload's architecture facts: what the PyTorch script must reproduce (parameter
/// count, per-layer output shapes and parameters) and every distinct call of its training step.</summary>
public sealed record WorkloadShapes(string Workload, string Network, string Input, int Batch, int Classes, int[] InputShape,
    long Parameters, long MultiplyAdds, long StepFlops, long StepBytes, int Launches, IReadOnlyList<LayerJson> Layers, IReadOnlyList<OpResult> Ops);

public sealed record ShapesFile(string Schema, string? Commit, string Layout, IReadOnlyList<WorkloadShapes> Workloads);

/// <summary>`export-shapes`: every layer (from <see cref="ModelSummary"/>) and every distinct
/// backend call (from the step trace) of the standard workloads, with parameter counts, as JSON.
/// Nothing in it is typed by hand: it is read off the networks.</summary>
public static class ExportShapes
{
    public static ShapesFile Build(IReadOnlyList<Workload>? workloads = null)
    {
        var list = new List<WorkloadShapes>();
        foreach (var w in workloads ?? Workload.Standard)
        {
            var net = w.Create();
            var summary = ModelSummary.Of(net, w.InputShape);
            var trace = TrainingStep.Trace(w);
            list.Add(new WorkloadShapes(w.Name, w.Network, w.Input.ToString().ToLowerInvariant(), w.Batch, w.Classes, w.InputShape.ToArray(),
                summary.TotalParameters, summary.TotalMultiplyAdds, FlopAccounting.TraceFlops(trace), FlopAccounting.TraceBytes(trace), trace.Count,
                summary.Layers.Select(l => new LayerJson(l.Name, l.Kind, l.Output.ToArray(), l.Parameters, l.MultiplyAdds)).ToList(),
                OpCase.Distinct(trace).Select(c => OpResult.Of(w.Name, c, null, null)).ToList()));
        }
        return new ShapesFile("igcv3-shapes/1", ReportWriter.Commit(), "NHWC activations, OHWI weights", list);
    }
}
