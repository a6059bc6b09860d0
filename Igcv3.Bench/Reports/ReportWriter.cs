using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Igcv3.Engine.IO;

namespace Igcv3.Bench.Reports;

/// <summary>Writes a report as JSON (snake_case, what the PyTorch script reads) and as a readable
/// table, and gathers the facts every report carries (commit, runtime, OS).</summary>
public static class ReportWriter
{
    public static JsonSerializerOptions Json { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>IGCV3_COMMIT when set (the GPU host has no git), else `git rev-parse HEAD`, else null.</summary>
    public static string? Commit()
    {
        var fromEnv = Environment.GetEnvironmentVariable("IGCV3_COMMIT");
        if (!string.IsNullOrWhiteSpace(fromEnv)) return fromEnv.Trim();
        try
        {
            using var git = Process.Start(new ProcessStartInfo("git", "rev-parse HEAD") { RedirectStandardOutput = true, RedirectStandardError = true });
            if (git is null) return null;
            string sha = git.StandardOutput.ReadToEnd().Trim();
            git.WaitForExit();
            return git.ExitCode == 0 && sha.Length > 0 ? sha : null;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return null;
        }
    }

    public static string Runtime => RuntimeInformation.FrameworkDescription;

    public static string Os => $"{RuntimeInformation.OSDescription} ({RuntimeInformation.ProcessArchitecture}, {Environment.ProcessorCount} logical CPUs)";

    public static string CreatedUtc() => DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    /// <summary>Writes <c>{stem}.json</c> and <c>{stem}.txt</c> in <paramref name="folder"/>.</summary>
    public static void Write(BenchReport report, string folder, string stem)
    {
        Directory.CreateDirectory(folder);
        AtomicFile.WriteAllText(Path.Combine(folder, stem + ".json"), JsonSerializer.Serialize(report, Json));
        AtomicFile.WriteAllText(Path.Combine(folder, stem + ".txt"), Format(report));
    }

    /// <summary>The readable table: ceilings, roofline check, one row per op, one per step.</summary>
    public static string Format(BenchReport r)
    {
        var sb = new StringBuilder();
        var ic = CultureInfo.InvariantCulture;
        sb.AppendLine(ic, $"igcv3 bench: {r.Mode} on {r.Device} ({r.Backend}), {r.CreatedUtc}, commit {r.Commit ?? "unknown"}");
        if (r.Platform is { } platform)
            sb.AppendLine(ic, $"CUDA {platform.DriverCudaVersion} (driver), NVRTC {platform.NvrtcVersion ?? "not loaded"}; {string.Join("; ", platform.Libraries)}");
        sb.AppendLine(ic, $"timing: {r.TimingMethod}");
        if (r.Ceilings is { } c)
        {
            sb.AppendLine(ic, $"ceilings: copy {c.CopyGBps:F0} GB/s (D2D {c.CopyBytes >> 20} MiB, read+write), SGEMM {c.SgemmGflops:F0} GFLOP/s (FP32 {c.SgemmSize}^3, cuBLAS {c.CublasVersion}), L2 {c.L2Bytes >> 20} MiB");
        }
        sb.AppendLine();
        sb.AppendLine("roofline check (trace of one training step; each op reads and writes memory on its own)");
        sb.AppendLine(ic, $"{"workload",-30} {"GFLOP",8} {"6*MACs",8} {"GB",8} {"floor@nominal",14} {"floor@measured",15}");
        foreach (var x in r.Roofline)
        {
            sb.AppendLine(ic, $"{x.Workload,-30} {x.StepGflop,8:F1} {x.SummaryGflop,8:F1} {x.StepGB,8:F2} {x.NominalFloorMs,11:F2} ms {(x.MeasuredFloorMs is double m ? $"{m,12:F2} ms" : "           -")}");
        }
        if (r.Ops.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine(ic, $"{"workload",-28} {"n",3} {"median ms",10} {"GB/s",8} {"GFLOP/s",9} {"roof",6} {"cuBLAS ms",10} {"ours/cuBLAS",11}  op");
            foreach (var o in r.Ops)
            {
                sb.AppendLine(ic, $"{o.Workload,-28} {o.Count,3} {o.Time?.MedianMs,10:F4} {o.GBps,8:F1} {o.Gflops,9:F1} {(o.RooflineFraction is double f ? f.ToString("P0", ic) : "-"),6} {o.CublasTime?.MedianMs,10:F4} {o.OursOverCublas,11:F2}  {o.Key}");
            }
            foreach (var w in r.Ops.Where(o => o.CublasTime is not null).GroupBy(o => o.Workload))
            {
                double ours = w.Sum(o => o.Count * (o.Time?.MedianMs ?? 0)), cublas = w.Sum(o => o.Count * o.CublasTime!.MedianMs);
                sb.AppendLine(ic, $"pointwise per step, {w.Key}: ours {ours:F3} ms, cuBLAS {cublas:F3} ms (count x median; ours/cuBLAS {ours / cublas:F2})");
            }
        }
        if (r.Steps.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine(ic, $"{"training step",-28} {"median ms",10} {"images/s",10} {"peak MiB",10} {"floor ms",9} {"sum of ops ms",14}  memory source");
            foreach (var s in r.Steps)
            {
                sb.AppendLine(ic, $"{s.Workload,-28} {s.Time?.MedianMs,10:F3} {s.ImagesPerSecond,10:F1} {(s.PeakMemoryBytes is long p ? p / 1048576.0 : (double?)null),10:F1} {s.FloorMs,9:F2} {s.SumOfOpMedianMs,14:F2}  {s.PeakMemorySource}");
            }
        }
        if (r.PointwiseChoices is { Count: > 0 } choices)
        {
            sb.AppendLine();
            sb.AppendLine(ic, $"1x1 convolutions under PointwiseGemm.Auto (each geometry timed both ways at first use): cuBLAS chosen for {choices.Count(c => c.Chosen == Kernels.Cuda.PointwiseGemm.Cublas)} of {choices.Count}");
            foreach (var choice in choices) sb.AppendLine(ic, $"  {choice}");
        }
        foreach (var n in r.Notes) sb.AppendLine(ic, $"note: {n}");
        return sb.ToString();
    }
}
