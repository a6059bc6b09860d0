using System.Diagnostics;
using System.Globalization;
using Igcv3.Bench.Workloads;
using Igcv3.Engine;
using Igcv3.Engine.Cpu;
using Igcv3.Networks;

namespace Igcv3.Bench.Modes;

/// <summary>
/// `cpu-profile`: real fp32 training steps on the CPU backend, wrapped in a
/// <see cref="TimingBackend"/>, to say where a step's time goes. Per step: wall time and images/s;
/// per op (summed over the step's calls of it): milliseconds, share of the step, GFLOP/s for the
/// ops that multiply (convolutions, linear). Each figure is the median over the timed steps, since
/// other processes may share the machine. "outside the backend" is the step minus its calls:
/// autograd, allocation, the garbage collector.
/// </summary>
public static class CpuProfile
{
    public static int Run(IReadOnlyList<string> networks, int batch, int steps, int warmup, int top, TextWriter log)
    {
        var inv = CultureInfo.InvariantCulture;
        log.WriteLine(string.Create(inv, $"cpu-profile: {Environment.ProcessorCount} cores, batch {batch}, {warmup} warm-up + {steps} timed steps, medians"));
        foreach (var network in networks)
        {
            var workload = new Workload(network, InputKind.Cifar, batch, 10);
            var backend = new TimingBackend(new CpuBackend());
            var step = new TrainingStep(workload, backend);
            for (int i = 0; i < warmup; i++) step.Run();

            var stepMs = new List<double>();
            var familyMs = new Dictionary<string, List<double>>();
            var keyMs = new Dictionary<string, List<double>>();
            var familyFlops = new Dictionary<string, long>();
            var keyFlops = new Dictionary<string, long>();
            var outsideMs = new List<double>();
            int gcBefore = GC.CollectionCount(0);
            for (int i = 0; i < steps; i++)
            {
                backend.Clear();
                long start = Stopwatch.GetTimestamp();
                step.Run();
                double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                stepMs.Add(ms);
                var perFamily = new Dictionary<string, double>();
                var perKey = new Dictionary<string, double>();
                double inside = 0;
                foreach (var (call, callMs) in backend.Calls)
                {
                    string family = call.Op + FamilySuffix(call);
                    perFamily[family] = perFamily.GetValueOrDefault(family) + callMs;
                    perKey[call.Key] = perKey.GetValueOrDefault(call.Key) + callMs;
                    inside += callMs;
                    if (i == 0)
                    {
                        familyFlops[family] = familyFlops.GetValueOrDefault(family) + call.Flops;
                        keyFlops[call.Key] = keyFlops.GetValueOrDefault(call.Key) + call.Flops;
                    }
                }
                foreach (var (k, v) in perFamily) (familyMs.TryGetValue(k, out var l) ? l : familyMs[k] = []).Add(v);
                foreach (var (k, v) in perKey) (keyMs.TryGetValue(k, out var l) ? l : keyMs[k] = []).Add(v);
                outsideMs.Add(ms - inside);
            }
            int gcs = GC.CollectionCount(0) - gcBefore;

            double median = Median(stepMs);
            long stepFlops = familyFlops.Values.Sum();
            log.WriteLine();
            log.WriteLine(string.Create(inv,
                $"{workload.Name}: step {median:F0} ms (min {stepMs.Min():F0}, max {stepMs.Max():F0}), {batch / (median / 1e3):F1} images/s, {stepFlops / 1e9:F2} GFLOP/step = {stepFlops / 1e9 / (median / 1e3):F2} GFLOP/s, gen0 GCs/step {(double)gcs / steps:F1}"));
            log.WriteLine(string.Create(inv, $"  {"op family",-44} {"ms",8} {"share",6} {"GFLOP",7} {"GFLOP/s",8}"));
            foreach (var (family, list) in familyMs.OrderByDescending(kv => Median(kv.Value)))
            {
                double m = Median(list);
                long f = familyFlops.GetValueOrDefault(family);
                log.WriteLine(string.Create(inv, $"  {family,-44} {m,8:F1} {m / median,6:P1} {f / 1e9,7:F2} {(f == 0 ? "" : (f / 1e9 / (m / 1e3)).ToString("F2", inv)),8}"));
            }
            double outside = Median(outsideMs);
            log.WriteLine(string.Create(inv, $"  {"outside the backend (autograd, alloc, GC)",-44} {outside,8:F1} {outside / median,6:P1}"));
            log.WriteLine(string.Create(inv, $"  top {top} distinct calls:"));
            foreach (var (key, list) in keyMs.OrderByDescending(kv => Median(kv.Value)).Take(top))
            {
                double m = Median(list);
                long f = keyFlops.GetValueOrDefault(key);
                log.WriteLine(string.Create(inv, $"    {m,8:F1} ms {(f == 0 ? "" : (f / 1e9 / (m / 1e3)).ToString("F2", inv) + " GFLOP/s"),14}  {key}"));
            }
        }
        return 0;
    }

    // Splits the pointwise family by path: the input-shuffled gather and grouped vs dense differ.
    private static string FamilySuffix(OpCall call) => call.Spec switch
    {
        PointwiseSpec p => (p.Groups > 1 ? " grouped" : " dense") + (p.ShufflesInput ? " ishuf" : ""),
        _ => "",
    };

    private static double Median(List<double> values)
    {
        var s = values.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
