using System.Globalization;
using Igcv3.Engine;
using Igcv3.Engine.Cpu;
using Igcv3.Engine.Nn;
using Igcv3.Networks;

namespace Igcv3.Bench.Modes;

/// <summary>What a CPU training run holds in memory: peak resident memory against the two figures
/// it should be made of, the live tensor bytes at the peak (parameters, gradients, momentum and
/// one step's temporaries, counted by the CPU backend's pool) and the runtime's own (resident
/// before the network is built). Runs training steps and one evaluation batch, as the trainer does.</summary>
public static class CpuMemory
{
    /// <summary>The figures, in bytes; <see cref="Ratio"/> is (peak resident - runtime) / live.</summary>
    public sealed record Result(long LiveBytesAtPeak, long PoolBytes, long RuntimeBytes, long PeakResidentBytes)
    {
        public double Ratio => (PeakResidentBytes - RuntimeBytes) / (double)Math.Max(1, LiveBytesAtPeak);
    }

    public static Result Run(string networkName, int batch, int evalBatch, int steps, TextWriter log)
    {
        long runtime = Resident().Current;
        var backend = new CpuBackend();
        var network = NetworkRegistry.Create(networkName, new NetworkOptions { Classes = 10 });
        var parameters = ParameterSet.Create(network, backend, seed: 1);
        var sgd = new Sgd(parameters, momentum: 0.9, weightDecay: 5e-4);
        var random = new Random(1);
        float[] Images(int n) => [.. Enumerable.Range(0, n * 32 * 32 * 3).Select(_ => (float)random.NextDouble())];
        int[] Labels(int n) => [.. Enumerable.Range(0, n).Select(i => i % 10)];

        for (int step = 1; step <= steps; step++)
        {
            using (TensorScope.Begin())
            {
                var loss = Ops.SoftmaxCrossEntropy(network.Forward(Tensor.FromArray(backend, Images(batch), network.InputShape(batch))),
                    Tensor.FromArray(backend, Labels(batch), [batch]));
                parameters.ZeroGrad();
                loss.Backward();
                sgd.Step(0.1);
                log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {step}: loss {loss.Item():F4}, {MB(backend.MemoryStatistics.BytesInUse)} live"));
            }
        }
        network.Eval();
        using (GradMode.NoGrad())
        using (TensorScope.Begin())
        {
            network.Forward(Tensor.FromArray(backend, Images(evalBatch), network.InputShape(evalBatch))).ToFloatArray();
        }
        network.Train();

        var stats = backend.MemoryStatistics;
        var result = new Result(stats.PeakBytesInUse, stats.BytesInUse + stats.BytesCached, runtime, Resident().Peak);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{networkName}, batch {batch}, eval batch {evalBatch}, {steps} steps: live tensors at the peak {MB(result.LiveBytesAtPeak)}, pool {MB(result.PoolBytes)}, " +
            $"runtime {MB(result.RuntimeBytes)}, peak resident {MB(result.PeakResidentBytes)} = runtime + {result.Ratio:F2} x live (target at most 1.5)"));
        return result;
    }

    private static string MB(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e6:F0} MB");

    /// <summary>Resident bytes now and at the process's peak: VmRSS and VmHWM on Linux, the working set elsewhere.</summary>
    private static (long Current, long Peak) Resident()
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status))
        {
            using var process = System.Diagnostics.Process.GetCurrentProcess();
            return (process.WorkingSet64, process.PeakWorkingSet64);
        }
        long Field(string name) => File.ReadLines(status).Where(l => l.StartsWith(name + ":", StringComparison.Ordinal))
            .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024).First();
        return (Field("VmRSS"), Field("VmHWM"));
    }
}
