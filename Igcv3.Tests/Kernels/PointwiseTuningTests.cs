using Igcv3.Bench.Workloads;
using Igcv3.Engine;
using Igcv3.Engine.Cpu;
using Igcv3.Kernels.Cuda;
using Igcv3.Networks;
using Xunit;

namespace Igcv3.Tests.Kernels;

/// <summary>
/// <see cref="PointwiseGemm.Auto"/> without a GPU: the <see cref="RecordingQueue"/> reports device
/// times from a model of what each trial queued, so these tests choose which way must win and
/// check that the backend keeps it, times each geometry and pass once, never lets a trial touch the
/// caller's tensors, and leaves a steady training step that does not wait for the device.
/// </summary>
public sealed class PointwiseTuningTests
{
    /// <summary>A model where a pointwise_* kernel costs <paramref name="tiledKernel"/> ms, an
    /// SGEMM matrix <paramref name="gemm"/> ms, anything else (the shuffles) 1 ms.</summary>
    private static Func<IReadOnlyList<RecordingQueue.Launched>, int, double> Model(double tiledKernel, double gemm) =>
        (launches, gemms) => launches.Sum(l => l.Kernel.StartsWith("pointwise_") ? tiledKernel : 1) + gemms * gemm;

    private static float[] Values(Random random, int count) => [.. Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1))];

    [Theory]
    [InlineData(5.0, 1.0, PointwiseGemm.Cublas)]
    [InlineData(1.0, 5.0, PointwiseGemm.Tiled)]
    [InlineData(3.0, 3.0, PointwiseGemm.Tiled)] // a tie keeps the kernels that need no scratch
    public void Auto_KeepsTheWayThatTimedFaster_AndTimesEachGeometryOnce(double tiledKernel, double gemm, PointwiseGemm expected)
    {
        var queue = new RecordingQueue { TimingModel = Model(tiledKernel, gemm) };
        using var gpu = queue.Backend();
        gpu.PointwiseGemm = PointwiseGemm.Auto;
        var random = new Random(3);
        var x = Tensor.FromArray(gpu, Values(random, 6 * 8), [6, 8]);
        var w = Tensor.FromArray(gpu, Values(random, 4 * 8), [4, 8]);
        var y = Tensor.Empty(gpu, [6, 4]);
        var spec = new PointwiseSpec(1, 0, 0);

        gpu.PointwiseForward(x, w, y, spec);
        var choice = Assert.Single(gpu.PointwiseChoices);
        Assert.Equal(("forward", 6, 8, 4, 1), (choice.Pass, choice.Rows, choice.InChannels, choice.OutChannels, choice.Groups));
        Assert.Equal(tiledKernel, choice.TiledMs, 12); // one call each way, per the model
        Assert.Equal(gemm, choice.CublasMs, 12);
        Assert.Equal(expected, choice.Chosen);

        // Later calls of the geometry take the decision without timing, and run the chosen way.
        int timed = queue.TimedRuns, waits = queue.HostWaits, launches = queue.Launches.Count, gemms = queue.Gemms;
        gpu.PointwiseForward(x, w, y, spec);
        Assert.Equal((timed, waits), (queue.TimedRuns, queue.HostWaits));
        bool tiledRan = queue.Launches.Skip(launches).Any(l => l.Kernel.StartsWith("pointwise_forward"));
        Assert.Equal(expected == PointwiseGemm.Tiled, tiledRan);
        Assert.Equal(expected == PointwiseGemm.Cublas, queue.Gemms > gemms);

        // Another geometry, or another pass of this one, is a decision of its own.
        gpu.PointwiseForward(Tensor.FromArray(gpu, Values(random, 5 * 8), [5, 8]), w, Tensor.Empty(gpu, [5, 4]), spec);
        gpu.PointwiseBackward(x, w, y, null, Tensor.Zeros(gpu, [4, 8]), spec);
        Assert.Equal(["forward", "forward", "backward dw"], gpu.PointwiseChoices.Select(c => c.Pass));
        Assert.True(queue.TimedRuns > timed);
    }

    /// <summary>cuBLAS wins, and the queue interprets its SGEMMs and shuffles, so the caller's
    /// tensors can be compared with the CPU reference: y written once, dx and dw (starting
    /// non-zero) accumulated once, although the trials ran both ways eight times.</summary>
    [Fact]
    public void Trials_RunOnScratchOutputs_SoTheCallersGradientsAccumulateExactlyOnce()
    {
        const int m = 7, cin = 12, cout = 18, groups = 3;
        var spec = new PointwiseSpec(groups, 3, 6);
        var random = new Random(5);
        float[] x = Values(random, m * cin), w = Values(random, cout * cin / groups), dy = Values(random, m * cout);
        float[] dx0 = Values(random, m * cin), dw0 = Values(random, cout * cin / groups);

        var cpu = CpuBackend.Instance;
        var cy = Tensor.Zeros(cpu, [m, cout]);
        var cdx = Tensor.FromArray(cpu, dx0, [m, cin]);
        var cdw = Tensor.FromArray(cpu, dw0, [cout, cin / groups]);
        cpu.PointwiseForward(Tensor.FromArray(cpu, x, [m, cin]), Tensor.FromArray(cpu, w, [cout, cin / groups]), cy, spec);
        cpu.PointwiseBackward(Tensor.FromArray(cpu, x, [m, cin]), Tensor.FromArray(cpu, w, [cout, cin / groups]), Tensor.FromArray(cpu, dy, [m, cout]), cdx, cdw, spec);

        var queue = new RecordingQueue { TimingModel = Model(tiledKernel: 100, gemm: 1) };
        using var gpu = queue.Backend();
        gpu.PointwiseGemm = PointwiseGemm.Auto;
        var gx = RecordingQueue.UnalignedView(gpu, x, m, cin);
        var gw = RecordingQueue.UnalignedView(gpu, w, cout, cin / groups);
        var gy = RecordingQueue.UnalignedView(gpu, [.. Enumerable.Repeat(float.NaN, m * cout)], m, cout);
        var gdx = RecordingQueue.UnalignedView(gpu, dx0, m, cin);
        var gdw = RecordingQueue.UnalignedView(gpu, dw0, cout, cin / groups);
        long inUse = gpu.MemoryStatistics.BytesInUse;
        gpu.PointwiseForward(gx, gw, gy, spec);
        gpu.PointwiseBackward(gx, gw, RecordingQueue.UnalignedView(gpu, dy, m, cout), gdx, gdw, spec);

        Assert.All(gpu.PointwiseChoices, c => Assert.Equal(PointwiseGemm.Cublas, c.Chosen));
        Assert.Equal(2, gpu.PointwiseChoices.Count);
        // The tiled trials wrote scratch outputs as misaligned as the caller's (all views at 3
        // floats): the float4 paths would otherwise be timed for calls that take the scalar ones.
        var trials = queue.Launches.Where(l => l.Kernel.StartsWith("pointwise_forward") || l.Kernel.StartsWith("pointwise_backward_data")).ToList();
        Assert.NotEmpty(trials);
        Assert.All(trials, l => Assert.Equal(l.Pointer(0) % 16, l.Pointer(2) % 16));
        Assert.All(trials, l => Assert.Equal(12ul, l.Pointer(0) % 16));
        Assert.Equal(2 * (2 * 2), queue.TimedRuns); // two passes, each 2 rounds x 2 ways
        Close(cy.ToFloatArray(), gy.ToFloatArray(), "y");
        Close(cdx.ToFloatArray(), gdx.ToFloatArray(), "dx");
        Close(cdw.ToFloatArray(), gdw.ToFloatArray(), "dw");
        // The trial tensors went back to the allocator (only dy's upload is still held, and the
        // last-block ticket counters the weight gradient's first launch allocated for the backend's life).
        Assert.Equal(inUse + CachingAllocator.RoundedSize((m * cout + 5) * sizeof(float)) + gpu.TicketCounterBytes, gpu.MemoryStatistics.BytesInUse);
    }

    /// <summary>A device too full for the trials' scratch outputs: tuning must not fail the call,
    /// which runs the tiled kernels (they need no scratch), the decision kept with NaN times.</summary>
    [Fact]
    public void ADeviceWithoutMemoryForTheTrials_KeepsTheTiledKernels_WithoutFailing()
    {
        var queue = new RecordingQueue { TimingModel = Model(tiledKernel: 100, gemm: 1) };
        using var gpu = queue.Backend(memoryLimit: 3 * 512);
        gpu.PointwiseGemm = PointwiseGemm.Auto;
        var x = Tensor.Zeros(gpu, [6, 8]);   // 192 bytes: one 512-byte block each
        var w = Tensor.Zeros(gpu, [4, 8]);
        var y = Tensor.Empty(gpu, [6, 4]);
        gpu.PointwiseForward(x, w, y, new PointwiseSpec(1, 0, 0));
        var choice = Assert.Single(gpu.PointwiseChoices);
        Assert.Equal(PointwiseGemm.Tiled, choice.Chosen);
        Assert.True(double.IsNaN(choice.TiledMs) && double.IsNaN(choice.CublasMs));
        Assert.Equal(0, queue.TimedRuns);
        Assert.Single(queue.Launches, l => l.Kernel.StartsWith("pointwise_forward")); // no trial ran: this is the call itself
    }

    /// <summary>A whole training step under Auto with cuBLAS winning everywhere: the first step
    /// waits while it times each new geometry; the second is the steady state, which queues its
    /// work and never waits for the device, and allocates nothing from the driver.</summary>
    [Fact]
    public void TrainingStep_UnderAuto_WaitsOnlyInTheFirstStep()
    {
        var queue = new RecordingQueue { TimingModel = Model(tiledKernel: 100, gemm: 1) };
        using var gpu = queue.Backend();
        gpu.PointwiseGemm = PointwiseGemm.Auto;
        var step = new TrainingStep(new Workload("igcv3-d", InputKind.Cifar, 2, 10, 8), gpu);
        int waitsBefore = queue.HostWaits;
        step.Run();
        Assert.True(queue.HostWaits > waitsBefore);
        int decisions = gpu.PointwiseChoices.Count;
        Assert.True(decisions > 0);
        Assert.All(gpu.PointwiseChoices, c => Assert.Equal(PointwiseGemm.Cublas, c.Chosen));

        var first = gpu.MemoryStatistics;
        int waits = queue.HostWaits, timed = queue.TimedRuns, launches = queue.Launches.Count;
        step.Run();
        Assert.Equal((waits, timed, decisions), (queue.HostWaits, queue.TimedRuns, gpu.PointwiseChoices.Count));
        Assert.Equal(first.DriverAllocations, gpu.MemoryStatistics.DriverAllocations);
        Assert.DoesNotContain(queue.Launches.Skip(launches), l => l.Kernel.StartsWith("pointwise_"));
    }

    private static void Close(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 * Math.Max(1, Math.Abs(expected[i])), $"{what}[{i}]: CPU {expected[i]}, auto-tuned {actual[i]}");
        }
    }
}
