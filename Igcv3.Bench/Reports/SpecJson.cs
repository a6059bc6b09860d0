using Igcv3.Bench.Workloads;
using Igcv3.Engine;

namespace Igcv3.Bench.Reports;

/// <summary>An op's settings as named fields for the JSON files that the PyTorch script reads.</summary>
public static class SpecJson
{
    public static Dictionary<string, object> Of(OpCall call) => call.Spec switch
    {
        null => [],
        PointwiseSpec p => new() { ["groups"] = p.Groups, ["input_shuffle"] = p.InputShuffle, ["output_shuffle"] = p.OutputShuffle },
        Conv2dSpec c => new() { ["kernel"] = c.Kernel, ["stride"] = c.Stride, ["padding"] = c.Padding, ["groups"] = c.Groups },
        BatchNormSpec b => new() { ["training"] = b.Training, ["momentum"] = b.Momentum, ["epsilon"] = b.Epsilon, ["activation"] = Name(b.Activation) },
        PoolSpec p => new() { ["kernel"] = p.Kernel, ["stride"] = p.Stride, ["padding"] = p.Padding },
        SgdSpec s => new() { ["learning_rate"] = s.LearningRate, ["momentum"] = s.Momentum, ["nesterov"] = s.Nesterov, ["weight_decay"] = s.WeightDecay, ["decayed_count"] = s.DecayedCount },
        Activation a => new() { ["activation"] = Name(a) },
        int i when call.Op.StartsWith("depthwise", StringComparison.Ordinal) => new() { ["stride"] = i },
        int i => new() { ["groups"] = i },
        double d => new() { ["smoothing"] = d },
        var other => new() { ["value"] = other.ToString() ?? "" },
    };

    private static string Name(Activation a) => a.ToString().ToLowerInvariant();
}
