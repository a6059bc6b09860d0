using Igcv3.Bench.Gpu;
using Igcv3.Bench.Reports;
using Igcv3.Bench.Timing;
using Igcv3.Bench.Workloads;
using Igcv3.Engine;
using Igcv3.Kernels;
using Igcv3.Kernels.Cuda;

namespace Igcv3.Bench.Modes;

/// <summary>
/// `gpu-report`: on CUDA device 0, measures the copy bandwidth and SGEMM rate, then times every
/// distinct call of every standard workload's training step with CUDA events (L2 flushed before
/// each run, warm-up, median) and whole CIFAR-10 batch-128 training steps (images/s, peak
/// memory), and writes the report. Without a CUDA backend it still measures the ceilings and
/// writes the roofline figures, and says what is missing. Returns the process exit code.
/// </summary>
public static class GpuReport
{
    /// <summary>Marks the step rows timed with the cuBLAS pointwise variant.</summary>
    public const string CublasStepSuffix = " [1x1 via cuBLAS]";

    /// <summary>Marks the step rows timed with PointwiseGemm.Auto, the backend's default: the
    /// faster of the two per geometry, as the backend itself measured it.</summary>
    public const string AutoStepSuffix = " [1x1 auto]";

    public static int Run(string outFolder, TextWriter log, bool quick = false)
    {
        var notes = new List<string>();
        if (!CudaDevice.TryOpen(out var device, out var reason))
        {
            log.WriteLine($"gpu-report: no CUDA device: {reason}");
            return 2;
        }
        using (device)
        {
            log.WriteLine($"gpu-report: {device}");
            var ceilings = DeviceCeilings.Measure(device!);
            log.WriteLine($"  copy {ceilings.CopyGBps:F0} GB/s, SGEMM {ceilings.SgemmGflops:F0} GFLOP/s, L2 {ceilings.L2Bytes >> 20} MiB");

            var workloads = quick ? Workload.EndToEnd : Workload.Standard;
            var traces = workloads.ToDictionary(w => w, TrainingStep.Trace);
            var roofline = workloads.Select(w => FlopAccounting.Check(w, traces[w], ceilings.CopyGBps)).ToList();
            IReadOnlyList<OpResult> ops = [];
            IReadOnlyList<StepResult> steps = [];
            string method = "none: no CUDA backend";

            CudaBackend? backend = null;
            try
            {
                backend = CudaBackend.Create(device!);
            }
            catch (Exception e) when (DeviceSelector.IsBackendStartFailure(e))
            {
                notes.Add($"ops and steps not timed: the CUDA backend could not start: {e.Message}");
                log.WriteLine($"gpu-report: the CUDA backend could not start ({e.Message}); wrote ceilings and roofline figures only");
            }
            IReadOnlyList<PointwiseChoice>? choices = null;
            if (backend is not null)
            {
                // A buffer twice the L2, overwritten before each timed run, so that no run finds its inputs cached.
                var scratch = Tensor.Zeros(backend, [checked((int)Math.Max(1, 2 * ceilings.L2Bytes / sizeof(float)))]);
                IOpTimer timer = new CudaEventTimer(device!, backend.Stream, () => backend.Fill(scratch, 0));
                method = timer.Method;
                var measured = Measure(backend, timer, ceilings, workloads, Workload.EndToEnd, traces, log);
                (ops, steps, choices) = (measured.Ops, measured.Steps, measured.PointwiseChoices);
            }

            var platform = new GpuPlatform(device!.Name, device.DriverCudaVersion,
                Interop.Nvrtc.TryGetVersion(out var nvrtc, out _) ? $"{nvrtc.Major}.{nvrtc.Minor}" : null,
                [.. NativeLibraries.LoadedLibraries.Select(l => $"{l.Library}: {l.Path}")]);
            var report = new BenchReport("igcv3-bench/1", "gpu-report", ReportWriter.CreatedUtc(), ReportWriter.Commit(),
                backend?.Name ?? "none", device.ToString(), ReportWriter.Runtime, ReportWriter.Os, method, ceilings, roofline, ops, steps, notes, platform, choices);
            ReportWriter.Write(report, outFolder, "igcv3");
            log.Write(ReportWriter.Format(report));
            return 0;
        }
    }

    /// <summary>What gpu-report measures on a CUDA backend, apart from the device's ceilings: every
    /// distinct call of each workload's step with our tiled 1x1 kernels, then every pointwise call
    /// with cuBLAS; whole steps of <paramref name="endToEnd"/> each way and under Auto (what a
    /// training run gets), and Auto's decisions. A test runs it on a recording queue.</summary>
    public static (IReadOnlyList<OpResult> Ops, IReadOnlyList<StepResult> Steps, IReadOnlyList<PointwiseChoice> PointwiseChoices) Measure(
        CudaBackend backend, IOpTimer timer, DeviceCeilings ceilings, IReadOnlyList<Workload> workloads, IReadOnlyList<Workload> endToEnd,
        IReadOnlyDictionary<Workload, IReadOnlyList<OpCall>> traces, TextWriter log)
    {
        var ops = new List<OpResult>();
        var steps = new List<StepResult>();
        IMemoryProbe memory = new DelegateProbe("CUDA backend allocator: peak bytes held", backend.ResetPeakMemory,
            () => backend.MemoryStatistics.PeakBytesInUse);
        var runner = new BenchRunner(backend, timer, new TimingPlan(), new TimingPlan(WarmupMs: 200, MinWarmup: 3, TargetMs: 2000, MinReps: 10, MaxReps: 100),
            ceilings, memory, log);
        var before = backend.PointwiseGemm;
        try
        {
            // Our tiled kernels first; the rows of the other two ways follow.
            backend.PointwiseGemm = PointwiseGemm.Tiled;
            foreach (var w in workloads) ops.AddRange(runner.RunOps(w, traces[w]));
            foreach (var w in endToEnd) steps.Add(runner.RunStep(w, traces[w], ops.Where(o => o.Workload == w.Name).ToList()));

            // The comparison for the 1x1 convolutions: every pointwise call, and the
            // steps, again with cuBLAS strided-batched SGEMMs (permutations as explicit passes).
            log.WriteLine("gpu-report: pointwise through cuBLAS");
            backend.PointwiseGemm = PointwiseGemm.Cublas;
            var calls = workloads.ToDictionary(w => w.Name, w => OpCase.Distinct(traces[w]).ToDictionary(c => c.Key, c => c.Call));
            var withCublas = ops.Select(o => o.Op.StartsWith("pointwise.", StringComparison.Ordinal)
                ? o with { CublasTime = runner.TimeCall(calls[o.Workload][o.Key]) }
                : o).ToList();
            foreach (var w in endToEnd) steps.Add(runner.RunStep(w, traces[w], null) with { Workload = w.Name + CublasStepSuffix });

            // What a training run gets: per geometry, the faster of the two as the backend times them.
            log.WriteLine("gpu-report: pointwise auto-tuned");
            backend.PointwiseGemm = PointwiseGemm.Auto;
            foreach (var w in endToEnd) steps.Add(runner.RunStep(w, traces[w], null) with { Workload = w.Name + AutoStepSuffix });
            return (withCublas, steps, backend.PointwiseChoices);
        }
        finally
        {
            backend.PointwiseGemm = before;
        }
    }
}
