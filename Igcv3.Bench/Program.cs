using System.Text.Json;
using Igcv3.Bench.Modes;
using Igcv3.Bench.Reports;
using Igcv3.Bench.Workloads;
using Igcv3.Engine.IO;
using Igcv3.Networks;
using BenchmarkDotNet.Running;

namespace Igcv3.Bench;

/// <summary>
/// Modes (README.md says what each measures):
/// <code>
/// cpu-smoke [--out DIR]         every benchmark once, tiny sizes, CPU (CI)
/// gpu-report --out DIR [--quick] CUDA-event timings of every op and training step, ceilings, roofline
/// export-shapes [--out FILE]    every layer and every distinct op of the standard workloads, as JSON
/// compile-log --out DIR [--arch N] [--fail-on-spills]  NVRTC's version and every kernel's registers and spills
/// flops                         the roofline check: step FLOPs and bytes of each standard workload
/// cpu-profile [--network N]... [--batch 32] [--steps 5] [--warmup 1] [--top 15]
///                               real CPU training steps, time per backend op, GFLOP/s, images/s
/// loader [--batch 128] [--epochs 5]  images/s of the trainer's data pipeline alone
/// cpu-memory [--network N] [--batch 128] [--eval-batch 256] [--steps 3]  peak resident memory of CPU training vs live tensor bytes
/// step-accounting [--network N]... [--batch 128] [--out FILE]  launches and bytes per kernel of one CUDA training step, offline
/// image-loader [--folder DIR] [--images 2000] [--image-size 500x375] [--workers N] [--batch 64] [--epochs 3] [--out FILE]
///                               ImageNet loader images/s, train and eval transforms, beside torchvision's
/// (anything else)               BenchmarkDotNet: --filter '*' etc.; IGCV3_BENCH_DEVICE=cpu|cuda picks the backend
/// </code>
/// </summary>
public static class BenchProgram
{
    public static int Main(string[] args)
    {
        string? Option(string name)
        {
            int i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        }
        int Int(string name, int fallback) => Option(name) is { } v ? int.Parse(v, System.Globalization.CultureInfo.InvariantCulture) : fallback;
        switch (args.FirstOrDefault())
        {
            case "cpu-smoke":
            {
                var report = CpuSmoke.Run(Console.Out);
                if (Option("--out") is { } dir) ReportWriter.Write(report, dir, "cpu-smoke");
                Console.Write(ReportWriter.Format(report));
                return 0;
            }
            case "gpu-report":
                return GpuReport.Run(Option("--out") ?? "bench-out", Console.Out, quick: args.Contains("--quick"));
            case "compile-log":
                return CompileLog.Run(Option("--out") ?? "compile-log", Option("--arch") is { } arch ? int.Parse(arch, System.Globalization.CultureInfo.InvariantCulture) : null,
                    args.Contains("--fail-on-spills"), Console.Out);
            case "export-shapes":
            {
                var json = JsonSerializer.Serialize(ExportShapes.Build(), ReportWriter.Json);
                if (Option("--out") is { } file) AtomicFile.WriteAllText(file, json);
                else Console.WriteLine(json);
                return 0;
            }
            case "flops":
            {
                foreach (var w in Workload.Standard)
                {
                    var c = FlopAccounting.Check(w, TrainingStep.Trace(w), measuredGBps: null);
                    Console.WriteLine($"{c.Workload,-28} trace {c.StepGflop,6:F1} GFLOP, 6*MACs {c.SummaryGflop,6:F1} GFLOP, {c.StepGB,6:F2} GB, memory floor {c.NominalFloorMs:F2} ms at {c.NominalGBps} GB/s");
                }
                return 0;
            }
            case "cpu-profile":
            {
                var networks = args.Select((a, i) => (a, i)).Where(p => p.a == "--network" && p.i + 1 < args.Length).Select(p => args[p.i + 1]).ToList();
                if (networks.Count == 0) networks = ["igcv3-d", "mobilenetv2"];
                return CpuProfile.Run(networks, Int("--batch", 32), Int("--steps", 5), Int("--warmup", 1), Int("--top", 15), Console.Out);
            }
            case "cpu-memory":
            {
                var result = CpuMemory.Run(Option("--network") ?? "igcv3-d", Int("--batch", 128), Int("--eval-batch", 256), Int("--steps", 3), Console.Out);
                return result.Ratio <= 1.5 ? 0 : 1;
            }
            case "step-accounting":
            {
                var networks = args.Select((a, i) => (a, i)).Where(p => p.a == "--network" && p.i + 1 < args.Length).Select(p => args[p.i + 1]).ToList();
                if (networks.Count == 0) networks = ["igcv3-d", "mobilenetv2"];
                string report = Accounting.StepAccountingReport.Build(networks.Select(n => new Workload(n, InputKind.Cifar, Int("--batch", 128), 10)).ToList(), Console.Out);
                if (Option("--out") is { } file) AtomicFile.WriteAllText(file, report);
                return 0;
            }
            case "image-loader":
            {
                var size = (Option("--image-size") ?? "500x375").Split('x');
                if (size.Length != 2 || !int.TryParse(size[0], out int width) || !int.TryParse(size[1], out int height) || width < 64 || height < 64)
                {
                    Console.Error.WriteLine($"--image-size must be WIDTHxHEIGHT, each at least 64 (e.g. 500x375), got '{Option("--image-size")}'");
                    return 2;
                }
                string folder = Option("--folder") ?? Path.Combine(Path.GetTempPath(), width == 500 && height == 375 ? "igcv3-bench-imagenet" : $"igcv3-bench-imagenet-{width}x{height}");
                return ImageLoaderThroughput.Run(folder, Int("--images", 2000), Int("--workers", Environment.ProcessorCount), Int("--batch", 64), Int("--epochs", 3), Option("--out"), Console.Out,
                    (width, height));
            }
            case "loader":
            {
                return LoaderThroughput.Run(Int("--batch", 128), Int("--epochs", 5), Console.Out);
            }
            default:
                BenchmarkSwitcher.FromAssembly(typeof(BenchProgram).Assembly).Run(args);
                return 0;
        }
    }
}
