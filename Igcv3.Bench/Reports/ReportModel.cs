using Igcv3.Bench.Gpu;
using Igcv3.Bench.Timing;
using Igcv3.Bench.Workloads;
using Igcv3.Engine;

namespace Igcv3.Bench.Reports;

/// <summary>A tensor argument as written to JSON.</summary>
public sealed record ArgJson(string Role, int[] Shape, string Dtype, string Access)
{
    public static ArgJson Of(TensorArg a) => new(a.Role, a.Shape.ToArray(), a.DType.ToString().ToLowerInvariant(), a.Access.ToString().ToLowerInvariant());
}

/// <summary>One distinct call of a training step with its cost model and (when timed) its timing.
/// Roofline: floor = max(bytes / copy bandwidth, FLOPs / SGEMM rate), fraction = floor / median.
/// A pointwise call on CUDA is also timed through cuBLAS (<see cref="CublasTime"/>, explicit
/// permutation passes included), the comparison that decides which implementation to keep.</summary>
public sealed record OpResult(
    string Workload, string Key, string Op, int Count, ArgJson[] Args, Dictionary<string, object> Spec,
    long MultiplyAdds, long Flops, long Bytes,
    TimingResult? Time, double? GBps, double? Gflops, double? FloorMs, double? RooflineFraction, string? Bound,
    TimingResult? CublasTime = null)
{
    /// <summary>Our kernel's median over cuBLAS's: below 1, the hand-written kernel is faster.</summary>
    public double? OursOverCublas => Time is { } t && CublasTime is { } c && c.MedianMs > 0 ? t.MedianMs / c.MedianMs : null;

    public static OpResult Of(string workload, OpCase c, TimingResult? time, DeviceCeilings? ceilings)
    {
        var call = c.Call;
        double? seconds = time is null ? null : time.MedianMs * 1e-3;
        double? floorMs = null, fraction = null;
        string? bound = null;
        if (ceilings is not null)
        {
            double bytesMs = call.Bytes / (ceilings.CopyGBps * 1e9) * 1e3;
            double flopsMs = call.Flops / (ceilings.SgemmGflops * 1e9) * 1e3;
            floorMs = Math.Max(bytesMs, flopsMs);
            bound = flopsMs > bytesMs ? "compute" : "memory";
            if (time is not null) fraction = floorMs / time.MedianMs;
        }
        return new OpResult(workload, call.Key, call.Op, c.Count, call.Args.Select(ArgJson.Of).ToArray(), SpecJson.Of(call),
            call.MultiplyAdds, call.Flops, call.Bytes, time,
            seconds is double s1 && s1 > 0 ? call.Bytes / s1 / 1e9 : null,
            seconds is double s2 && s2 > 0 ? call.Flops / s2 / 1e9 : null,
            floorMs, fraction, bound);
    }
}

/// <summary>A whole training step: measured throughput and memory, and the step's totals from its
/// trace (the sum over every call, each op reading and writing memory on its own).</summary>
public sealed record StepResult(
    string Workload, int Batch, long Parameters, TimingResult? Time, double? ImagesPerSecond,
    long? PeakMemoryBytes, string PeakMemorySource, long StepFlops, long StepBytes, int Launches,
    double? FloorMs, double? SumOfOpMedianMs);

/// <summary>The report's roofline check: a workload's step FLOPs and unfused bytes, and the memory
/// floor at the measured copy bandwidth and at a stated nominal bandwidth (for comparison with the
/// issue's estimates: 67.6 GFLOP and ~5.3 ms unfused on an H100 for MobileNetV2-CIFAR b128).</summary>
public sealed record RooflineCheck(string Workload, double StepGflop, double SummaryGflop, double StepGB, double NominalGBps, double NominalFloorMs, double? MeasuredFloorMs);

/// <summary>Everything one run of a report mode measured, with where and on what.</summary>
public sealed record BenchReport(
    string Schema, string Mode, string CreatedUtc, string? Commit, string Backend, string Device, string Runtime, string Os,
    string TimingMethod, DeviceCeilings? Ceilings, IReadOnlyList<RooflineCheck> Roofline,
    IReadOnlyList<OpResult> Ops, IReadOnlyList<StepResult> Steps, IReadOnlyList<string> Notes, GpuPlatform? Platform = null,
    IReadOnlyList<Kernels.Cuda.PointwiseChoice>? PointwiseChoices = null);

/// <summary>What a GPU report ran on, beyond the device line: the device's name (the results'
/// file names use it), the CUDA version its driver implements, the NVRTC that compiled the
/// kernels, and every native library file loaded (the driver, NVRTC, cuBLAS).</summary>
public sealed record GpuPlatform(string DeviceName, string DriverCudaVersion, string? NvrtcVersion, IReadOnlyList<string> Libraries);
