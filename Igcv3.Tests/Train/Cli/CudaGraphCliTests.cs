using Igcv3.Engine.Checkpoints;
using Igcv3.Tests.Checkpoints;
using Igcv3.Tests.Kernels.Parity;
using Igcv3.Tests.Support;
using Igcv3.Train.Commands;
using Xunit;

namespace Igcv3.Tests.Train.Cli;

/// <summary><c>train --cuda-graph on|off</c> on the emulated device: the same run either way, bit
/// for bit (losses, accuracies, the checkpoint's every tensor), the graphed one saying so.</summary>
[Collection(EmulatedCollection.Name), Trait("device", "emulated")]
public sealed class CudaGraphEmulatedCliTests(EmulatedFixture fixture)
{
    // Three steps of 4 images: the first eager, the second captured, the third a replay. One way
    // for the 1x1 convolutions: Auto's choices follow timings, which differ between two runs.
    private static readonly string[] Tiny =
        ["--network", "igcv3-d", "--width-multiplier", "0.25", "--dataset", "synthetic", "--synthetic-train", "12", "--synthetic-test", "4",
         "--batch-size", "4", "--eval-batch-size", "4", "--epochs", "1", "--lr", "0.05", "--schedule", "onecycle", "--device", "emulated", "--pointwise-gemm", "tiled"];

    [Fact]
    public void TrainWithCudaGraphOn_RepeatsTheEagerRun_BitForBit()
    {
        _ = fixture.BackendOrSkip();
        using var temp = new TempFolder();
        string graphed = temp.File("on"), eager = temp.File("off");
        var on = CliRunner.Succeeds(["train", .. Tiny, "--cuda-graph", "on", "--output", graphed]);
        var off = CliRunner.Succeeds(["train", .. Tiny, "--cuda-graph", "off", "--output", eager]);
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

/// <summary>--cuda-graph where it means nothing, and where it is misspelt.</summary>
public sealed class CudaGraphOptionTests
{
    [Fact]
    public void OnTheCpu_TheOptionIsIgnored_WithANote()
    {
        using var temp = new TempFolder();
        var run = CliRunner.Succeeds(["train", .. CliRunner.TinyNetwork, .. CliRunner.TinySynthetic(64, 32), "--epochs", "1", "--cuda-graph", "on", "--output", temp.File("run")]);
        Assert.Contains("--cuda-graph on: ignored, CUDA graphs exist only on a CUDA device", run.Out);
        Assert.DoesNotContain("CUDA graph:", run.Out);
    }

    [Fact]
    public void AnotherValue_IsAUsageError() =>
        CliRunner.FailsWith(ExitCodes.Usage, "unknown cuda-graph 'yes'; choose one of on, off (--cuda-graph)", "train", "--cuda-graph", "yes");
}
