using System.Globalization;
using System.Text;
using Igcv3.Bench.Workloads;
using Igcv3.Engine;
using Igcv3.Train.Training;

namespace Igcv3.Bench.Accounting;

/// <summary>One kernel family's share of a step: launches and bytes (<see cref="KernelTraffic"/>), of
/// which <paramref name="StatisticsBytes"/> are those of batch statistics accumulated in the epilogue.</summary>
public sealed record KernelShare(string Family, int Launches, long Bytes, long StatisticsBytes = 0);

/// <summary>
/// What one training step asks of the GPU, counted offline: the step runs through the CUDA
/// backend's launchers on a <see cref="RecordingQueue"/> (the 1x1 convolutions on the tiled
/// kernels), and every launch, memset, cuBLAS call and device copy of the second step (the first
/// settles the allocator) is counted with the bytes its arguments make it move.
/// </summary>
public sealed record StepAccount(string Workload, int Kernels, int Memsets, int GemmCalls, int DeviceCopies,
    long KernelBytes, long MemsetBytes, long GemmBytes, long CopyBytes, long FusedMinimumBytes, IReadOnlyList<KernelShare> Families,
    GraphedStep Graphed)
{
    /// <summary>Every device operation of the step (a batched cuBLAS call is one).</summary>
    public int Launches => Kernels + Memsets + GemmCalls + DeviceCopies;

    public long Bytes => KernelBytes + MemsetBytes + GemmBytes + CopyBytes;

    /// <summary>Traffic over the fused minimum: 1 would be a step that moves nothing it need not.</summary>
    public double OverMinimum => (double)Bytes / FusedMinimumBytes;

    /// <summary>Bytes of the batch-norm kernels, the first target.</summary>
    public long BatchNormBytes => Families.Where(f => f.Family.StartsWith("batchnorm_", StringComparison.Ordinal)).Sum(f => f.Bytes);

    public static StepAccount Measure(Workload workload)
    {
        var queue = new RecordingQueue();
        using var gpu = queue.Backend();
        var step = new TrainingStep(workload, gpu);
        step.Run(); // settles the caching allocator and any first-use work
        int launches = queue.Launches.Count, memsets = queue.Memsets, gemms = queue.GemmCalls.Count, copies = queue.DeviceCopies;
        long memsetBytes = queue.MemsetBytes, copyBytes = queue.DeviceCopyBytes;
        step.Run();

        var stepLaunches = queue.Launches.Skip(launches).ToList();
        var stepGemms = queue.GemmCalls.Skip(gemms).ToList();
        var families = stepLaunches
            .GroupBy(l => Family(l.Kernel))
            .Select(g => new KernelShare(g.Key, g.Count(), g.Sum(KernelTraffic.Bytes), g.Sum(KernelTraffic.EpilogueStatisticsBytes)))
            .OrderByDescending(f => f.Bytes).ThenBy(f => f.Family, StringComparer.Ordinal)
            .ToList();
        return new StepAccount(workload.Name, stepLaunches.Count, queue.Memsets - memsets, stepGemms.Count, queue.DeviceCopies - copies,
            families.Sum(f => f.Bytes), queue.MemsetBytes - memsetBytes, stepGemms.Sum(KernelTraffic.Bytes),
            2 * (queue.DeviceCopyBytes - copyBytes), FusedMinimum(TrainingStep.Trace(workload)), families, MeasureGraphed(workload));
    }

    /// <summary>The same step as the trainer runs it with --cuda-graph on (<see cref="StepRunner"/>):
    /// the third step, a replay, counted on a fresh recording queue.</summary>
    private static GraphedStep MeasureGraphed(Workload workload)
    {
        var queue = new RecordingQueue();
        using var gpu = queue.Backend();
        var step = new TrainingStep(workload, gpu); // the same network, parameters and SGD as the eager count's
        string? line = null;
        using var runner = new StepRunner(gpu, step.Network, step.Parameters, step.Optimizer, 0, cudaGraph: true, l => line = l);
        var images = new float[workload.InputShape.Count];
        var labels = new int[workload.Batch];
        void Step()
        {
            var (loss, logits) = runner.Step(images, labels, 0.01);
            loss.Storage.Dispose(); // read and freed, as the trainer does
            logits.Storage.Dispose();
        }
        Step();
        Step(); // captured
        int launches = queue.Launches.Count, memsets = queue.Memsets, gemms = queue.GemmCalls.Count, copies = queue.DeviceCopies, graphs = queue.GraphLaunches;
        Step();
        return new GraphedStep(queue.GraphLaunches - graphs,
            queue.Launches.Count - launches + queue.Memsets - memsets + queue.GemmCalls.Count - gemms + queue.DeviceCopies - copies, line ?? "");
    }

    /// <summary>
    /// The least a fused step must move, from the step's op trace: every tensor that a convolution,
    /// pooling, linear layer or residual add produces written once and read once in forward, read
    /// once more in backward (its consumer's weight gradient and the batch norm's x̂ need it), and
    /// its gradient written once and read once (batch norm and activations are applied as those
    /// tensors are loaded, so their outputs never reach memory): 5 accesses; the input read once; and
    /// the parameters read in forward and in backward, their gradients written, and SGD reading
    /// parameters, gradients and momentum and writing parameters and momentum (8 accesses).
    /// </summary>
    public static long FusedMinimum(IReadOnlyList<OpCall> trace)
    {
        // A batch norm with a residual add fused into it writes the add's output.
        bool FusedAdd(OpCall c) => c.Op.StartsWith("batchnorm.", StringComparison.Ordinal) && c.Args.Any(a => a.Role == "residual");
        long activations = trace
            .Where(c => c.Op.EndsWith(".forward", StringComparison.Ordinal) || c.Op == "add" || FusedAdd(c))
            .Where(c => c.Op is not ("batchnorm.forward" or "activation.forward" or "xent.forward") || FusedAdd(c))
            .Sum(c => FusedAdd(c) ? c.Arg("y").Bytes : c.Args.Where(a => a.Access == Access.Write).Sum(a => a.Bytes));
        var first = trace.First(c => c.Op.EndsWith(".forward", StringComparison.Ordinal));
        long input = first.Arg("x").Bytes;
        long parameters = trace.Where(c => c.Op == "sgd").Sum(c => c.Arg("g").Bytes);
        return 5 * activations + input + 8 * parameters;
    }

    /// <summary>The kernel's family: its name without a GEMM tile suffix (pointwise_forward_64x32 → pointwise_forward).</summary>
    public static string Family(string kernel)
    {
        int underscore = kernel.LastIndexOf('_');
        return underscore > 0 && kernel.Length > underscore + 1 && char.IsDigit(kernel[underscore + 1]) && kernel.AsSpan(underscore + 1).Contains('x')
            ? kernel[..underscore] : kernel;
    }

    /// <summary>The account as a Markdown section: totals, then each kernel family.</summary>
    public string ToMarkdown()
    {
        var c = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.Append(c, $"### {Workload}\n\n");
        text.Append(c, $"- launches: {Launches} ({Kernels} kernels, {Memsets} memsets, {GemmCalls} cuBLAS calls, {DeviceCopies} device copies)\n");
        text.Append(c, $"- traffic: {Bytes / 1e9:F2} GB (kernels {KernelBytes / 1e9:F2}, memsets {MemsetBytes / 1e9:F2}, cuBLAS {GemmBytes / 1e9:F2}, copies {CopyBytes / 1e9:F2}); batch norm {BatchNormBytes / 1e9:F2} GB\n");
        text.Append(c, $"- fused minimum: {FusedMinimumBytes / 1e9:F2} GB; the step moves {OverMinimum:F2} times it\n");
        text.Append(c, $"- with --cuda-graph on (the trainer's StepRunner; from the third step): {Graphed.GraphLaunches} graph launch(es) and {Graphed.OtherOperations} device operations outside the graph per step (\"{Graphed.CaptureLine}\")\n\n");
        text.Append("| kernel | launches | GB |\n| --- | ---: | ---: |\n");
        foreach (var f in Families) text.Append(c, $"| {f.Family} | {f.Launches} | {f.Bytes / 1e9:F3} |\n");
        return text.Append('\n').ToString();
    }
}

/// <summary>A step replayed as a CUDA graph: graph launches, the device operations queued beside
/// them (kernels, memsets, cuBLAS calls, device copies; the batch's uploads are not counted), and
/// the line the trainer printed about the capture.</summary>
public sealed record GraphedStep(int GraphLaunches, int OtherOperations, string CaptureLine);
