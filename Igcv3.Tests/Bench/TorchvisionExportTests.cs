using Igcv3.Engine.Checkpoints;
using Igcv3.Engine.Cpu;
using Igcv3.Networks;
using Igcv3.Tests.Support;
using Igcv3.Tests.Train.Cli;
using Igcv3.Train.Commands;
using Igcv3.Train.Export;
using Igcv3.Train.Training;
using Xunit;

namespace Igcv3.Tests.Bench;

/// <summary>
/// `export --format pytorch-safetensors` against torchvision itself: torchvision_load.py builds
/// torchvision.models.mobilenet_v2, loads our file with load_state_dict(strict=True) and compares
/// its eval logits with our engine's on the same input (relative error ≤ 1e-5, float32). Batch
/// norms carry random or trained statistics. Skipped where no python3 imports torch, torchvision
/// and numpy; fails instead under IGCV3_REQUIRE_TORCH=1 (CI installs Debian's python3-torchvision).
/// </summary>
public sealed class TorchvisionExportTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private void AssertTorchvisionAgrees(Network network, List<SafeTensor> stateDict, double widthMult, int seed)
    {
        string folder = BenchPython.ScriptFolder();
        string python = BenchPython.InterpreterWith("torch", "torchvision", "numpy");
        int r = network.Resolution;
        var x = ExportFixtures.RandomNchw(2, r, seed);
        var logits = ExportFixtures.EngineLogits(network, ExportFixtures.NchwToNhwc(x, 2, 3, r, r), 2, r);
        string weights = _temp.File($"weights-{seed}.safetensors"), io = _temp.File($"io-{seed}.safetensors");
        File.WriteAllBytes(weights, SafeTensorsWriter.ToBytes(stateDict));
        File.WriteAllBytes(io, SafeTensorsWriter.ToBytes([SafeTensor.FromFloats("x", x, [2, 3, r, r]), SafeTensor.FromFloats("logits", logits, [2, network.Classes])]));

        string[] args = ["torchvision_load.py", "--weights", weights, "--io", io, "--classes", $"{network.Classes}",
            "--width-mult", widthMult.ToString(System.Globalization.CultureInfo.InvariantCulture), .. (network.Input == InputKind.Cifar ? ["--cifar"] : Array.Empty<string>())];
        var (code, output) = BenchPython.Run(python, folder, args);
        Assert.True(code == 0, output);
        Assert.Contains("tensors loaded (strict)", output);
    }

    /// <summary>ImageNet MobileNetV2 at 1.0x (the released architecture) and at 0.5x with the
    /// clean width arithmetic, which rounds to multiples of 8 as torchvision's does.</summary>
    [Theory]
    [InlineData(1.0, "official")]
    [InlineData(0.5, "clean")]
    public void ImageNetMobileNetV2_LoadsStrictlyIntoTorchvision_WithOurLogits(double width, string arithmetic)
    {
        var network = ExportFixtures.Build("mobilenetv2", new NetworkOptions
        {
            Input = InputKind.ImageNet, Classes = 12, WidthMultiplier = width,
            Arithmetic = arithmetic == "clean" ? WidthArithmetic.Clean : WidthArithmetic.Official,
        });

        AssertTorchvisionAgrees(network, TorchvisionMobileNetV2.StateDict(network), width, seed: 21);
    }

    [Fact]
    public void CifarRun_ExportedByTheCommand_LoadsIntoTorchvisionWithItsTwoStridesSetToOne()
    {
        string run = _temp.File("run"), file = _temp.File("mobilenetv2.safetensors");
        CliRunner.Succeeds(["train", "--network", "mobilenetv2", "--width-multiplier", "0.25", "--arithmetic", "clean", "--device", "cpu",
            .. CliRunner.TinySynthetic(train: 64, test: 32), "--epochs", "1", "--output", run]);

        var result = CliRunner.Succeeds("export", "--checkpoint", run, "--format", "pytorch-safetensors", "--output", file);

        Assert.Contains("torchvision.models.mobilenet_v2(num_classes=10, width_mult=0.25)", result.Out);
        var model = TrainedModel.Load(Path.Combine(run, "best.safetensors"), TrainedModel.SettingsOf(Path.Combine(run, "best.safetensors"), null, null), CpuBackend.Instance);
        var stateDict = SafeTensorsReader.Read(file).Tensors.ToList();
        Assert.Equal("features.0.0.weight", stateDict[0].Name);
        Assert.Equal("classifier.1.bias", stateDict[^1].Name);
        AssertTorchvisionAgrees(model.Network, stateDict, 0.25, seed: 22);
    }

    [Fact]
    public void NetworksWithoutATorchvisionCounterpart_AreRefusedWithAReason()
    {
        string run = _temp.File("run");
        CliRunner.Succeeds(["train", .. CliRunner.TinyNetwork, .. CliRunner.TinySynthetic(train: 32, test: 32), "--epochs", "1", "--output", run]);

        CliRunner.FailsWith(ExitCodes.Usage, "network 'resnet' has no torchvision counterpart", "export", "--checkpoint", run, "--format", "pytorch-safetensors", "--output", _temp.File("x.safetensors"));
        Assert.False(File.Exists(_temp.File("x.safetensors")));
    }
}
