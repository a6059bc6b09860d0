using Igcv3.Bench.Benchmarks;
using Igcv3.Bench.Workloads;
using Xunit;

namespace Igcv3.Tests.Bench;

/// <summary>
/// The BenchmarkDotNet classes without BenchmarkDotNet (which runs each case in a child process
/// for minutes): every case name they offer resolves to a distinct call of a standard workload,
/// and the cheapest cases run through their setup, benchmark body and cleanup on the CPU, so the
/// classes cannot rot unnoticed between GPU sessions.
/// </summary>
public class BenchmarkClassesTests
{
    [Fact]
    public void OpBenchmarks_OfferOneCasePerDistinctCallOfEveryStandardWorkload()
    {
        var cases = OpBenchmarks.Cases().ToList();
        int expected = Workload.Standard.Sum(w => OpCase.Distinct(TrainingStep.Trace(w)).Count);
        Assert.Equal(expected, cases.Count);
        Assert.Equal(cases.Count, cases.Distinct().Count());
        Assert.All(Workload.Standard, w => Assert.Contains(cases, c => c.StartsWith(w.Name + " #", StringComparison.Ordinal)));
    }

    [Fact]
    public void TheCheapestOpCases_RunThroughSetupBodyAndCleanup()
    {
        var byBytes = Workload.Standard
            .SelectMany(w => OpCase.Distinct(TrainingStep.Trace(w)).Select((c, i) => (Name: $"{w.Name} #{i:D3} {c.Key}", c.Call.Bytes)))
            .OrderBy(c => c.Bytes).Take(3).ToList();
        foreach (var (name, _) in byBytes)
        {
            Assert.Contains(name, OpBenchmarks.Cases());
            var benchmark = new OpBenchmarks { Case = name };
            benchmark.Setup();
            benchmark.Op();
            benchmark.Cleanup();
        }
    }

    [Fact]
    public void TrainStepBenchmarks_CoverTheEndToEndWorkloads()
    {
        Assert.Equal(Workload.EndToEnd.Select(w => w.Name), TrainStepBenchmarks.Names());
        Assert.NotEmpty(TrainStepBenchmarks.Names());
    }
}
