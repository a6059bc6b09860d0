using System.Globalization;
using System.Text;
using Igcv3.Bench.Workloads;

namespace Igcv3.Bench.Accounting;

/// <summary>The step-accounting mode: one <see cref="StepAccount"/> per workload, a line each on
/// the console and the whole as a Markdown document (Igcv3.Bench/results/step-accounting.md).</summary>
public static class StepAccountingReport
{
    public static string Build(IReadOnlyList<Workload> workloads, TextWriter log)
    {
        var c = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.Append("# One fp32 training step, counted offline\n\n");
        text.Append("Written by `dotnet run --project Igcv3.Bench -c Release -- step-accounting --out Igcv3.Bench/results/step-accounting.md`.\n");
        text.Append("The step (forward, loss, backward, SGD) runs through the CUDA backend's launchers on the recording queue, with\n");
        text.Append("the tiled 1x1 kernels; the second step is counted. Bytes are each launch's compulsory traffic from its\n");
        text.Append("arguments (`KernelTraffic`: inputs read once, outputs written once, accumulated gradients read and written);\n");
        text.Append("the fused minimum is defined in `StepAccounting.FusedMinimum`. No GPU is involved: these are counts, not timings.\n\n");
        text.Append("| workload | launches | kernels | memsets | GB | batch norm GB | fused minimum GB | × minimum | launches with --cuda-graph on |\n");
        text.Append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        var accounts = new List<StepAccount>();
        foreach (var w in workloads)
        {
            var a = StepAccount.Measure(w);
            accounts.Add(a);
            log.WriteLine(string.Create(c, $"{a.Workload,-26} {a.Launches,5} launches ({a.Kernels} kernels, {a.Memsets} memsets, {a.GemmCalls} cuBLAS), {a.Bytes / 1e9,6:F2} GB, fused minimum {a.FusedMinimumBytes / 1e9:F2} GB ({a.OverMinimum:F2}x)"));
            text.Append(c, $"| {a.Workload} | {a.Launches} | {a.Kernels} | {a.Memsets} | {a.Bytes / 1e9:F2} | {a.BatchNormBytes / 1e9:F2} | {a.FusedMinimumBytes / 1e9:F2} | {a.OverMinimum:F2} | {a.Graphed.GraphLaunches + a.Graphed.OtherOperations} |\n");
        }
        text.Append('\n');
        foreach (var a in accounts) text.Append(a.ToMarkdown());
        return text.ToString();
    }
}
