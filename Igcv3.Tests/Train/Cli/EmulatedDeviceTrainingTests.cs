using System.Text.RegularExpressions;
using Igcv3.Engine.Checkpoints;
using Igcv3.Tests.Checkpoints;
using Igcv3.Tests.Kernels.Parity;
using Igcv3.Tests.Support;
using Igcv3.Train.Training;
using Xunit;

namespace Igcv3.Tests.Train.Cli;

/// <summary>
/// The trainer itself on the CUDA backend, through the emulated device (<c>--device emulated</c>):
/// uploads, the training steps with Auto's first-step trials, the read-backs every --log-every
/// steps, evaluation and checkpoints run the CUDA code paths. An IGCV3-D (fused permutations,
/// depthwise, batch norm) small enough for a few seconds.
/// <para>How close to the CPU run: the first step's loss (same weights, same batch) to float32
/// rounding. Later steps only to a few percent: at batch 8 this network amplifies float32 rounding
/// by orders of magnitude per step (measured: both float32 runs' gradients differ from a float64
/// run's by up to 1e-2 after one step, the CPU's as much as the device's), so the two runs drift
/// apart however right each kernel is; the kernels' own agreement is NetworkStepParityTests'.
/// Evaluating one checkpoint on both backends is deterministic and must agree.</para>
/// </summary>
[Collection(EmulatedCollection.Name), Trait("device", "emulated")]
public sealed class EmulatedDeviceTrainingTests(EmulatedFixture fixture)
{
    private static readonly string[] Igcv3Tiny =
        ["--network", "igcv3-d", "--width-multiplier", "0.25", "--dataset", "synthetic", "--synthetic-train", "24", "--synthetic-test", "8",
         "--batch-size", "8", "--eval-batch-size", "8", "--epochs", "2", "--lr", "0.01", "--warmup-epochs", "0", "--log-every", "2"];

    [Fact]
    public void TrainingOnTheEmulatedDevice_FollowsTheCpuRun_AndItsCheckpointEvaluatesTheSameOnBoth()
    {
        _ = fixture.BackendOrSkip(); // no g++: skip (or fail under IGCV3_REQUIRE_EMULATION)
        using var temp = new TempFolder();
        string cpuRun = temp.File("cpu"), emulatedRun = temp.File("emulated");
        var emulated = CliRunner.Succeeds(["train", .. Igcv3Tiny, "--device", "emulated", "--output", emulatedRun]);
        Assert.Contains("cuda:emulated", emulated.Out);
        Assert.Contains("1x1 convolutions (--pointwise-gemm auto)", emulated.Out);
        CliRunner.Succeeds(["train", .. Igcv3Tiny, "--device", "cpu", "--output", cpuRun]);

        var cpu = StepLog.ReadLosses(Path.Combine(cpuRun, "steps.csv"));
        var device = StepLog.ReadLosses(Path.Combine(emulatedRun, "steps.csv"));
        Assert.Equal(Enumerable.Range(1, 6).Select(i => (long)i), device.Select(l => l.Step));
        Assert.True(Math.Abs(cpu[0].Loss - device[0].Loss) <= 1e-5 * cpu[0].Loss, $"step 1: cpu loss {cpu[0].Loss:G9}, emulated {device[0].Loss:G9}");
        foreach (var (c, d) in cpu.Zip(device)) Assert.True(Math.Abs(c.Loss - d.Loss) <= 0.05 * c.Loss, $"step {c.Step}: cpu loss {c.Loss:G9}, emulated {d.Loss:G9}");

        string Evaluation(string device) =>
            Regex.Match(CliRunner.Succeeds("eval", "--checkpoint", emulatedRun, "--device", device).Out, @"loss \S+\s+top-1 \S+\s+top-5 \S+").Value;
        string onCpu = Evaluation("cpu");
        Assert.NotEqual("", onCpu);
        Assert.Equal(onCpu, Evaluation("emulated"));
    }

    /// <summary><c>train --device emulated --gpus 0,1 --sync-bn</c>: two emulated devices, a worker
    /// thread each, the gradient buckets and sync-BN's sums all-reduced on their communication
    /// streams, train as one emulated device at the doubled batch (two steps, momentum included). A
    /// small ResNet: the tiny IGCV3-D above magnifies float32 rounding too much per step for this.</summary>
    [Fact]
    public void TwoEmulatedGpus_WithSyncBn_TrainAsOneDeviceWithTheDoubledBatch()
    {
        _ = fixture.BackendOrSkip();
        using var temp = new TempFolder();
        string one = temp.File("one"), two = temp.File("two");
        string[] Recipe(int batch) =>
            ["--network", "resnet", "--depth", "8", "--width", "8", "--dataset", "synthetic", "--synthetic-train", "16", "--synthetic-test", "4",
             "--batch-size", $"{batch}", "--eval-batch-size", "4", "--epochs", "1", "--lr", "0.05", "--warmup-epochs", "0",
             "--device", "emulated", "--sync-bn", "--seed", "5"];
        var run = CliRunner.Succeeds(["train", .. Recipe(4), "--gpus", "0,1", "--output", two]);
        Assert.Contains("Data parallel: 2 emulated CUDA devices, one worker thread each", run.Out);
        Assert.Contains("4 per worker, 8 in all per step; batch norm synchronised", run.Out);
        CliRunner.Succeeds(["train", .. Recipe(8), "--output", one]);
        Assert.Equal(2, StepLog.ReadLosses(Path.Combine(two, "steps.csv")).Count);
        DataParallelCliTests.AssertSameWeights(one, two, 1e-4);
    }

    /// <summary>Two emulated GPUs with <c>--cuda-graph on</c>: each worker's step, gradient buckets'
    /// and sync-BN's all-reduces included, is captured once and replayed, and the run is the eager
    /// one bit for bit (losses, every learned tensor).</summary>
    [Fact]
    public void TwoEmulatedGpus_CapturedSteps_RepeatTheEagerRun_BitForBit()
    {
        _ = fixture.BackendOrSkip();
        using var temp = new TempFolder();
        string graphed = temp.File("on"), eager = temp.File("off");
        string[] Recipe(string graph, string output) =>
            ["train", "--network", "resnet", "--depth", "8", "--width", "8", "--dataset", "synthetic", "--synthetic-train", "24", "--synthetic-test", "4",
             "--batch-size", "4", "--eval-batch-size", "4", "--epochs", "1", "--lr", "0.05", "--warmup-epochs", "0", "--log-every", "1",
             "--device", "emulated", "--gpus", "0,1", "--sync-bn", "--seed", "5", "--pointwise-gemm", "tiled", "--cuda-graph", graph, "--output", output];
        var on = CliRunner.Succeeds(Recipe("on", graphed));
        CliRunner.Succeeds(Recipe("off", eager));
        Assert.Contains("CUDA graph: the training step is captured", on.Out);
        string steps = File.ReadAllText(Path.Combine(graphed, "steps.csv"));
        Assert.Equal(4, steps.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length); // header and three steps: eager, captured, replayed
        Assert.Equal(File.ReadAllText(Path.Combine(eager, "steps.csv")), steps);
        DataParallelCliTests.AssertSameWeights(eager, graphed, 0);
    }

    // The emulated trainer's tiny IGCV3-D, for three steps of 4 images: the first eager, the second
    // captured, the third a replay (the last of a repeated option wins). One way for the 1x1
    // convolutions: Auto's choices follow timings, which differ between two runs.
    private static readonly string[] Graphable =
        [.. Igcv3Tiny, "--synthetic-train", "12", "--synthetic-test", "4", "--batch-size", "4", "--eval-batch-size", "4",
         "--epochs", "1", "--schedule", "onecycle", "--device", "emulated", "--pointwise-gemm", "tiled"];

    /// <summary><c>--cuda-graph on|off</c>: the same run either way, bit for bit (losses,
    /// accuracies, the checkpoint's every learned tensor), the graphed one saying so.</summary>
    [Fact]
    public void TrainWithCudaGraphOn_RepeatsTheEagerRun_BitForBit()
    {
        _ = fixture.BackendOrSkip();
        using var temp = new TempFolder();
        string graphed = temp.File("on"), eager = temp.File("off");
        var on = CliRunner.Succeeds(["train", .. Graphable, "--cuda-graph", "on", "--output", graphed]);
        var off = CliRunner.Succeeds(["train", .. Graphable, "--cuda-graph", "off", "--output", eager]);
        Assert.Contains("CUDA graph: the training step is captured", on.Out);
        Assert.DoesNotContain("CUDA graph", off.Out);

        string steps = File.ReadAllText(Path.Combine(graphed, "steps.csv"));
        Assert.Equal(4, steps.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length); // header and three steps
        Assert.Equal(File.ReadAllText(Path.Combine(eager, "steps.csv")), steps);
        var a = IndependentSafeTensors.Parse(File.ReadAllBytes(Path.Combine(graphed, "last.safetensors"))).Tensors;
        var b = IndependentSafeTensors.Parse(File.ReadAllBytes(Path.Combine(eager, "last.safetensors"))).Tensors;
        Assert.Equal(b.Keys.Order(), a.Keys.Order());
        // Parameters, momentum, BN running statistics; the trainer's extras hold wall times.
        var learned = b.Keys.Where(name => !name.StartsWith(Checkpoint.ExtraPrefix, StringComparison.Ordinal)).ToList();
        Assert.Contains(learned, name => name.Contains("running_var", StringComparison.Ordinal));
        foreach (var name in learned) Assert.True(b[name].Bytes.SequenceEqual(a[name].Bytes), $"{name} differs");
    }
}
