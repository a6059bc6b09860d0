using System.Diagnostics;

namespace Igcv3.Bench.Timing;

/// <summary>Repetition counts: warm up until <see cref="WarmupMs"/> has passed (at least
/// <see cref="MinWarmup"/> runs), then as many timed runs as fit <see cref="TargetMs"/>, clamped
/// to [<see cref="MinReps"/>, <see cref="MaxReps"/>] (do_bench's scheme).</summary>
public sealed record TimingPlan(double WarmupMs = 25, int MinWarmup = 2, double TargetMs = 100, int MinReps = 10, int MaxReps = 200)
{
    /// <summary>One untimed run and one timed run: the CPU smoke run, which only proves that every
    /// benchmark still runs.</summary>
    public static TimingPlan Smoke { get; } = new(0, 1, 0, 1, 1);

    public int Reps(double estimateMs) => estimateMs <= 0 ? MaxReps : (int)Math.Clamp(TargetMs / estimateMs, MinReps, MaxReps);
}

/// <summary>Milliseconds per run over <see cref="Reps"/> timed runs: median (the figure reported),
/// quartiles and extremes (the spread that says whether a difference is noise).</summary>
public sealed record TimingResult(double MedianMs, double MinMs, double Q1Ms, double Q3Ms, double MaxMs, int Reps, string Method)
{
    public static TimingResult Of(IReadOnlyList<double> samplesMs, string method)
    {
        if (samplesMs.Count == 0) throw new ArgumentException("timing: no samples");
        var s = samplesMs.Order().ToArray();
        return new TimingResult(Quantile(s, 0.5), s[0], Quantile(s, 0.25), Quantile(s, 0.75), s[^1], s.Length, method);
    }

    /// <summary>Linear interpolation between order statistics (numpy's default).</summary>
    public static double Quantile(double[] sorted, double q)
    {
        double pos = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos), hi = (int)Math.Ceiling(pos);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }
}

/// <summary>Times a queued piece of work (an op, a training step) on some device.</summary>
public interface IOpTimer
{
    string Method { get; }

    TimingResult Time(Action run, TimingPlan plan);
}

/// <summary>
/// Host clock around each run, with the backend synchronized before and after: right for the CPU
/// (where runs are synchronous), and the fallback on a GPU when no stream can be reached for events
/// (each sample then includes the launch and one synchronization).
/// </summary>
public sealed class HostClockTimer(Action synchronize) : IOpTimer
{
    public string Method => "host clock, synchronized, median";

    public TimingResult Time(Action run, TimingPlan plan)
    {
        var warm = Stopwatch.StartNew();
        int warmRuns = 0;
        double lastMs = 0;
        while (warmRuns < plan.MinWarmup || warm.Elapsed.TotalMilliseconds < plan.WarmupMs)
        {
            lastMs = Sample(run);
            warmRuns++;
        }
        int reps = plan.Reps(lastMs);
        var samples = new double[reps];
        for (int i = 0; i < reps; i++) samples[i] = Sample(run);
        return TimingResult.Of(samples, Method);
    }

    private double Sample(Action run)
    {
        synchronize();
        long start = Stopwatch.GetTimestamp();
        run();
        synchronize();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }
}
