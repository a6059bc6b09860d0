using Igcv3.Bench.Workloads;
using Igcv3.Engine;
using Igcv3.Networks;
using Xunit;

namespace Igcv3.Tests.Kernels;

/// <summary>
/// Whole training steps of every network family through the CUDA backend's launchers, on a
/// <see cref="RecordingQueue"/> (no GPU: kernels are recorded, not run, so the values are not
/// checked here; the GPU parity suite does that). What it proves without a GPU: every call a real
/// step makes passes the launchers' checks, every pointer a kernel receives lies in allocated
/// memory, and the caching allocator reaches the steady state the issue asks for: building the
/// network leaves no garbage, after the first step no step takes memory from the driver, and each
/// ends holding what the one before held. And no step makes the host wait for the device (no
/// synchronisation, no read-back): the trainer reads the loss only every --log-every steps.
/// </summary>
public sealed class CudaDryRunTests
{
    public static TheoryData<string, bool> Networks() => new()
    {
        // network, ImageNet variant (fed 64x64 images to stay small)
        { "igcv3-d", false },
        { "mobilenetv2", false },
        { "igcv2", false },
        { "plain-igc", false },
        { "resnet-igc", false },
        { "plain", false },
        { "resnet", false },
        { "igcv3-d", true },
        { "resnet-igc-imagenet-d18", true },
        { "resnet-imagenet-d18", true },
    };

    [Theory]
    [MemberData(nameof(Networks))]
    public void TrainingSteps_PassEveryLauncher_AndReachASteadyStateWithoutDriverAllocations(string network, bool imageNet)
    {
        var workload = new Workload(network, imageNet ? InputKind.ImageNet : InputKind.Cifar, 2, 10, imageNet ? 64 : null);
        var queue = new RecordingQueue();
        using var gpu = queue.Backend();
        var step = new TrainingStep(workload, gpu);
        // Building the network leaves nothing for the collector: memory freed by a finalizer at
        // some arbitrary later step would make every figure below depend on when the GC runs.
        long built = gpu.MemoryStatistics.BytesInUse;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(built, gpu.MemoryStatistics.BytesInUse);

        step.Run();
        var afterFirst = gpu.MemoryStatistics;
        int launchesFirst = queue.Launches.Count;
        int waitsBefore = queue.HostWaits;
        step.Run();
        var afterSecond = gpu.MemoryStatistics;
        // A step queues its work and returns: the host never waits for the device inside one.
        Assert.Equal(waitsBefore, queue.HostWaits);
        int launchesSecond = queue.Launches.Count - launchesFirst;
        step.Run();
        var afterThird = gpu.MemoryStatistics;
        int launchesThird = queue.Launches.Count - launchesFirst - launchesSecond;

        Assert.True(launchesSecond > 10, $"{workload}: a step launched {launchesSecond} kernels");
        Assert.Equal(launchesSecond, launchesThird);
        Assert.Equal(afterFirst.DriverAllocations, afterThird.DriverAllocations);
        Assert.Equal(afterFirst.BytesReserved, afterThird.BytesReserved);
        Assert.Equal(afterSecond.BytesInUse, afterThird.BytesInUse);
        Assert.True(afterThird.CacheHits > afterSecond.CacheHits, "the third step's memory came from the cache");
    }

    [Fact]
    public void EvaluationForward_WithoutGradients_PassesEveryLauncher()
    {
        var workload = new Workload("igcv3-d", InputKind.Cifar, 3, 10);
        var queue = new RecordingQueue();
        using var gpu = queue.Backend();
        var step = new TrainingStep(workload, gpu);
        step.Network.Eval();
        using (GradMode.NoGrad())
        using (TensorScope.Begin())
        {
            var logits = step.Network.Forward(Tensor.Zeros(gpu, workload.InputShape));
            Assert.Equal(new Shape(3, 10), logits.Shape);
            Assert.Equal(30, logits.ToFloatArray().Length);
        }
        Assert.Contains(queue.Launches, l => l.Kernel.StartsWith("batchnorm_forward_apply"));
        Assert.DoesNotContain(queue.Launches, l => l.Kernel.Contains("backward"));
    }
}
