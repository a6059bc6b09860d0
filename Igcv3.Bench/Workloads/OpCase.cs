namespace Igcv3.Bench.Workloads;

/// <summary>One distinct backend call of a training step and how many times the step makes it:
/// the unit the micro-benchmarks time. Its share of the step is Count times its time.</summary>
public sealed record OpCase(OpCall Call, int Count)
{
    public string Key => Call.Key;

    /// <summary>"pointwise" from "pointwise.backward".</summary>
    public string Family => Call.Op.Split('.')[0];

    /// <summary>The distinct calls of <paramref name="calls"/>, in order of first appearance.</summary>
    public static IReadOnlyList<OpCase> Distinct(IEnumerable<OpCall> calls) =>
        calls.GroupBy(c => c.Key).Select(g => new OpCase(g.First(), g.Count())).ToList();
}
