using Igcv3.Engine;
using Igcv3.Engine.Nn;
using Igcv3.Kernels.Cuda;
using Igcv3.Networks;
using Igcv3.Tests.Kernels;
using Igcv3.Tests.Kernels.Parity;
using Igcv3.Train.Training;
using Xunit;

namespace Igcv3.Tests.Train;

/// <summary>What one run of <see cref="StepRunner"/> leaves: every step's loss and logits as read
/// back, and the parameters, momentum and BN running statistics at the end.</summary>
internal sealed record StepRun(List<float> Losses, List<float[]> Logits, float[] Parameters, float[] Momentum, float[] Buffers, List<string> Lines, bool Replaying)
{
    public const int Batch = 2;

    /// <summary>A small IGCV3-D (fused permutations, depthwise, batch norm, residuals) at 32x32.</summary>
    public static Network SmallNetwork() =>
        NetworkRegistry.Create("igcv3-d", new NetworkOptions { Classes = 10, WidthMultiplier = 0.25 });

    /// <summary><paramref name="steps"/> steps from the same weights and batches, at a rate that
    /// changes every step (as a schedule's does), optionally read back only at the end.</summary>
    public static StepRun Of(IBackend backend, Network network, bool cudaGraph, int steps)
    {
        var set = ParameterSet.Create(network, backend, seed: 5);
        var sgd = new Sgd(set, momentum: 0.9, nesterov: true, weightDecay: 5e-4, exemptNoDecay: true);
        var lines = new List<string>();
        using var runner = new StepRunner(backend, network, set, sgd, labelSmoothing: 0.1, cudaGraph, lines.Add);
        var random = new Random(6);
        var losses = new List<float>();
        var logits = new List<float[]>();
        for (int step = 0; step < steps; step++)
        {
            var images = Enumerable.Range(0, (int)network.InputShape(Batch).Count).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            var labels = Enumerable.Range(0, Batch).Select(_ => random.Next(network.Classes)).ToArray();
            var (loss, z) = runner.Step(images, labels, 0.1 / (step + 1));
            losses.Add(loss.ToFloatArray()[0]);
            logits.Add(z.ToFloatArray());
            loss.Storage.Dispose();
            z.Storage.Dispose();
        }
        return new StepRun(losses, logits, set.Values.ToFloatArray(), sgd.MomentumBuffer.ToFloatArray(), set.Buffers.ToFloatArray(), lines, runner.Replaying);
    }

    /// <summary>Bit for bit: a replayed graph runs the eager step's kernels with its arguments.</summary>
    public void AssertSameBits(StepRun other)
    {
        Assert.Equal(Losses.Select(BitConverter.SingleToInt32Bits), other.Losses.Select(BitConverter.SingleToInt32Bits));
        for (int i = 0; i < Logits.Count; i++) Assert.True(Logits[i].SequenceEqual(other.Logits[i]), $"step {i + 1}: logits differ");
        Assert.True(Parameters.SequenceEqual(other.Parameters), "parameters differ");
        Assert.True(Momentum.SequenceEqual(other.Momentum), "momentum differs");
        Assert.True(Buffers.SequenceEqual(other.Buffers), "BN running statistics differ");
    }
}

/// <summary>The training step as a replayed CUDA graph on the emulated device, which records the
/// captured launches, SGEMMs, memsets and copies and runs them again at each replay.</summary>
[Collection(EmulatedCollection.Name), Trait("device", "emulated")]
public sealed class StepRunnerEmulatedTests(EmulatedFixture fixture)
{
    private const int Steps = 4;

    [Theory]
    [InlineData(PointwiseGemm.Tiled)]
    [InlineData(PointwiseGemm.Cublas)]
    public void ReplayedSteps_EqualEagerSteps_BitForBit(PointwiseGemm how)
    {
        var gpu = fixture.BackendOrSkip();
        var before = gpu.PointwiseGemm;
        gpu.PointwiseGemm = how;
        try
        {
            var eager = StepRun.Of(gpu, StepRun.SmallNetwork(), cudaGraph: false, Steps);
            var replayed = StepRun.Of(gpu, StepRun.SmallNetwork(), cudaGraph: true, Steps);
            Assert.False(eager.Replaying);
            Assert.Empty(eager.Lines);
            Assert.True(replayed.Replaying);
            Assert.Contains("the training step is captured", Assert.Single(replayed.Lines));
            eager.AssertSameBits(replayed);
            // The parameters did move: the steps ran (a graph that never ran would leave them).
            Assert.NotEqual(StepRun.Of(gpu, StepRun.SmallNetwork(), cudaGraph: false, 1).Parameters, eager.Parameters);
        }
        finally
        {
            gpu.PointwiseGemm = before;
        }
    }

    /// <summary>A layer that reads its input back to the host in the middle of the step, which no
    /// graph can hold: the capture is refused, a line says why, and the steps run eagerly, computing
    /// exactly what a run that never tried computes.</summary>
    private sealed class DownloadsMidStep : Module
    {
        public override Tensor Forward(Tensor x)
        {
            _ = x.ToFloatArray();
            return x;
        }
    }

    private static Network WithDownload() =>
        new("downloads", InputKind.Cifar, 10, [("body", StepRun.SmallNetwork()), ("probe", new DownloadsMidStep())]);

    [Fact]
    public void ACaptureThatDownloads_FallsBackToEagerSteps_WithALine_AndTrainsOnCorrectly()
    {
        var gpu = fixture.BackendOrSkip();
        var fallback = StepRun.Of(gpu, WithDownload(), cudaGraph: true, Steps);
        var eager = StepRun.Of(gpu, WithDownload(), cudaGraph: false, Steps);
        Assert.False(fallback.Replaying);
        string line = Assert.Single(fallback.Lines);
        Assert.Contains("cannot be captured", line);
        Assert.Contains("a download to the host inside the captured step", line);
        Assert.Contains("eager steps", line);
        eager.AssertSameBits(fallback);
    }
}

/// <summary>The launches of a graphed step, counted on the recording queue (no GPU).</summary>
public sealed class StepRunnerRecordingTests
{
    /// <summary>A graphing runner of the small network over a new recording queue, the lines it says, and a batch of zeros.</summary>
    private sealed class Recorded : IDisposable
    {
        public readonly RecordingQueue Queue = new();
        public readonly List<string> Lines = [];
        public readonly StepRunner Runner;
        public readonly float[] Images;
        private readonly CudaBackend _gpu;

        public Recorded()
        {
            _gpu = Queue.Backend();
            var network = StepRun.SmallNetwork();
            var set = ParameterSet.Create(network, _gpu, seed: 5);
            Runner = new StepRunner(_gpu, network, set, new Sgd(set, momentum: 0.9), 0, cudaGraph: true, Lines.Add);
            Images = new float[network.InputShape(StepRun.Batch).Count];
        }

        public void Dispose()
        {
            Runner.Dispose();
            _gpu.Dispose();
        }
    }

    [Fact]
    public void AfterTheCapture_EachStepIsOneGraphLaunch_AndNoKernelRunsOutsideIt()
    {
        using var recorded = new Recorded();
        var (queue, runner, images, lines) = (recorded.Queue, recorded.Runner, recorded.Images, recorded.Lines);
        int[] labels = [1, 2];

        Assert.False(runner.CapturesNext);
        var eagerStart = queue.Launches.Count;
        Read(runner.Step(images, labels, 0.1));
        var eager = queue.Launches.Skip(eagerStart).Select(l => l.Kernel).ToList();
        Assert.NotEmpty(eager);
        Assert.True(runner.CapturesNext);

        // The recording queue refuses cuMemAlloc while capturing, as the driver does: the capture
        // must find every block in the cache that the eager step filled.
        int captureStart = queue.Launches.Count;
        Read(runner.Step(images, labels, 0.05));
        // The graph holds the eager step's kernels, in its order; the rate now comes from memory.
        Assert.Equal(eager, queue.Launches.Skip(captureStart).Select(l => l.Kernel));
        Assert.NotEqual(0UL, queue.Launches[^1].Pointer(9));
        Assert.Equal(1, queue.GraphLaunches);
        Assert.Contains("captured", Assert.Single(lines));

        int launches = queue.Launches.Count, memsets = queue.Memsets, gemms = queue.Gemms, waits = queue.HostWaits;
        for (int step = 3; step <= 6; step++) Read(runner.Step(images, labels, 0.1 / step));
        Assert.Equal(5, queue.GraphLaunches);
        Assert.Equal(launches, queue.Launches.Count);
        Assert.Equal(memsets, queue.Memsets);
        Assert.Equal(gemms, queue.Gemms);
        Assert.Equal(waits, queue.HostWaits); // and the host never waits for the device
    }

    /// <summary>What the trainer does with a step's outputs once it has read them: frees them.</summary>
    private static void Read((Tensor Loss, Tensor Logits) step)
    {
        step.Loss.Storage.Dispose();
        step.Logits.Storage.Dispose();
    }

    [Fact]
    public void ACaptureThatNeedsTheDriversMemory_FallsBack_NamingTheCall()
    {
        using var recorded = new Recorded();
        var (queue, runner, images, lines) = (recorded.Queue, recorded.Runner, recorded.Images, recorded.Lines);
        int start = queue.Launches.Count;
        var held = runner.Step(images, [1, 2], 0.1); // not read: its loss and logits keep their blocks
        int eager = queue.Launches.Count - start;

        start = queue.Launches.Count;
        Read(runner.Step(images, [1, 2], 0.1));
        Assert.False(runner.Replaying);
        Assert.Equal(0, queue.GraphLaunches);
        string line = Assert.Single(lines);
        Assert.Contains("cuMemAlloc_v2", line);
        Assert.Contains("CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED", line);
        Assert.Contains("eager steps", line);
        // The refused capture's partial recording, then the step itself, eagerly; later steps are eager.
        Assert.True(queue.Launches.Count - start > eager);
        start = queue.Launches.Count;
        Read(runner.Step(images, [1, 2], 0.1));
        Assert.Equal(eager, queue.Launches.Count - start);
        Assert.Single(lines);
        Read(held);
    }

    [Fact]
    public void OnTheCpu_OrWithCudaGraphOff_StepsStayEager()
    {
        var network = StepRun.SmallNetwork();
        var set = ParameterSet.Create(network, Igcv3.Engine.Cpu.CpuBackend.Instance, seed: 5);
        using var runner = new StepRunner(set.Backend, network, set, new Sgd(set), 0, cudaGraph: true, _ => Assert.Fail("no line on the CPU"));
        var images = new float[network.InputShape(StepRun.Batch).Count];
        runner.Step(images, [1, 2], 0.1);
        Assert.False(runner.CapturesNext);
        runner.Step(images, [1, 2], 0.1);
        Assert.False(runner.Replaying);
    }
}
