using Igcv3.Bench.Timing;
using Igcv3.Kernels;

namespace Igcv3.Bench.Gpu;

/// <summary>
/// CUDA events recorded on the stream the work is queued on, around each run; before each run
/// <c>flush</c> overwrites a buffer larger than the L2 (outside the events), so every run starts
/// with a cold cache, as the first touch of an activation in training does (triton's do_bench
/// method). Warm-up until the plan's warm-up time has passed, then the plan's repetitions, all
/// queued before one synchronization, and the median.
/// </summary>
internal sealed class CudaEventTimer(CudaDevice device, CudaStreamHandle stream, Action flush) : IOpTimer
{
    public string Method => "CUDA events, L2 flushed before each run, median";

    public TimingResult Time(Action run, TimingPlan plan)
    {
        device.MakeCurrent();
        // Warm-up doubles as the estimate that sizes the timed repetitions.
        double estimate = 0;
        int warmRuns = 0;
        double warmMs = 0;
        while (warmRuns < plan.MinWarmup || warmMs < plan.WarmupMs)
        {
            estimate = Measure(run, 1)[0];
            warmMs += estimate;
            warmRuns++;
        }
        return TimingResult.Of(Measure(run, plan.Reps(estimate)), Method);
    }

    private double[] Measure(Action run, int reps)
    {
        var starts = new CudaEventHandle[reps];
        var ends = new CudaEventHandle[reps];
        try
        {
            for (int i = 0; i < reps; i++)
            {
                starts[i] = CudaEventHandle.Create(device.Context);
                ends[i] = CudaEventHandle.Create(device.Context);
            }
            for (int i = 0; i < reps; i++)
            {
                flush();
                starts[i].Record(stream);
                run();
                ends[i].Record(stream);
            }
            ends[^1].Synchronize();
            return Enumerable.Range(0, reps).Select(i => (double)ends[i].MillisecondsSince(starts[i])).ToArray();
        }
        finally
        {
            foreach (var e in starts) e?.Dispose();
            foreach (var e in ends) e?.Dispose();
        }
    }
}
