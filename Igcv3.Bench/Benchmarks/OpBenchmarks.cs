using BenchmarkDotNet.Attributes;
using Igcv3.Bench.Workloads;
using Igcv3.Engine;

namespace Igcv3.Bench.Benchmarks;

/// <summary>
/// Every distinct backend call, forward and backward, of a training step of IGCV3-D and
/// MobileNetV2, CIFAR at batch 128 and ImageNet at batch 64, at the shapes the networks' own
/// trace gives. One case per call: "workload #index op shapes". Filter them, for example
/// <c>--filter '*OpBenchmarks*' --anyCategories cifar</c> or by name with wildcards.
/// </summary>
[MemoryDiagnoser(false)]
public class OpBenchmarks
{
    private static readonly Lazy<IReadOnlyList<(Workload Workload, IReadOnlyList<OpCase> Cases)>> s_cases =
        new(() => Workload.Standard.Select(w => (w, OpCase.Distinct(TrainingStep.Trace(w)))).ToList());

    private OpReplay? _replay;
    private TensorScope? _scope;

    public static IEnumerable<string> Cases() =>
        s_cases.Value.SelectMany(x => x.Cases.Select((c, i) => $"{x.Workload.Name} #{i:D3} {c.Key}"));

    [ParamsSource(nameof(Cases))]
    public string Case { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var parts = Case.Split(' ', 3);
        var (_, cases) = s_cases.Value.Single(x => x.Workload.Name == parts[0]);
        _scope = TensorScope.Begin();
        _replay = new OpReplay(cases[int.Parse(parts[1].TrimStart('#'), System.Globalization.CultureInfo.InvariantCulture)].Call, BenchBackend.Current);
    }

    [Benchmark]
    public void Op()
    {
        _replay!.Run();
        _replay.Backend.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup() => _scope?.Dispose();
}
