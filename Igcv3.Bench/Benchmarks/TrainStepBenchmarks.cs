using BenchmarkDotNet.Attributes;
using Igcv3.Bench.Workloads;
using W = Igcv3.Bench.Workloads.Workload;

namespace Igcv3.Bench.Benchmarks;

/// <summary>One fp32 training step (zero-grad, forward, loss, backward, SGD) of IGCV3-D and
/// MobileNetV2 on CIFAR-10 at batch 128. Images/s = 128 / mean time.</summary>
[MemoryDiagnoser]
public class TrainStepBenchmarks
{
    private TrainingStep? _step;

    public static IEnumerable<string> Names() => W.EndToEnd.Select(w => w.Name);

    [ParamsSource(nameof(Names))]
    public string Workload { get; set; } = "";

    [GlobalSetup]
    public void Setup() => _step = new TrainingStep(W.EndToEnd.Single(w => w.Name == Workload), BenchBackend.Current);

    [Benchmark]
    public void Step()
    {
        _step!.Run();
        _step.Backend.Synchronize();
    }
}
