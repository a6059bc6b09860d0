using System.Text.Json;
using Igcv3.Engine.Cpu;
using Igcv3.Tests.Support;
using Igcv3.Train.Commands;
using Igcv3.Train.Data;
using Igcv3.Train.Training;
using Xunit;

namespace Igcv3.Tests.Train.Cli;

/// <summary>IGCV3-D at 0.25x trained two steps on synthetic data, once for the tests that read it
/// (export, predict, fine-tuning): a real run folder. The tests only read it.</summary>
public sealed class TinyIgcv3Run : IDisposable
{
    private readonly TempFolder _temp = new();

    public TinyIgcv3Run()
    {
        Folder = _temp.File("run");
        CliRunner.Succeeds(["train", "--network", "igcv3-d", "--width-multiplier", "0.25", "--device", "cpu", .. CliRunner.TinySynthetic(train: 64, test: 32),
            "--epochs", "1", "--output", Folder]);
    }

    public string Folder { get; }

    public void Dispose() => _temp.Dispose();
}

/// <summary><c>export</c> from a real (tiny) run: the file ONNX Runtime runs, its metadata, and the failures.</summary>
public class ExportCommandTests(TinyIgcv3Run tiny) : IClassFixture<TinyIgcv3Run>
{
    [Fact]
    public void Onnx_FromARunFolder_RunsInOnnxRuntime_WithTheCheckpointsLogits_AndDescribesItself()
    {
        using var temp = new TempFolder();
        string run = tiny.Folder;
        string file = temp.File("model.onnx");

        var result = CliRunner.Succeeds("export", "--checkpoint", run, "--format", "onnx", "--output", file);

        Assert.Contains("as ONNX (opset 17", result.Out);
        var model = TrainedModel.Load(Path.Combine(run, "best.safetensors"), TrainedModel.SettingsOf(Path.Combine(run, "best.safetensors"), null, null), CpuBackend.Instance);
        var input = ExportFixtures.RandomNchw(2, 32, seed: 5);
        var ours = ExportFixtures.EngineLogits(model.Network, ExportFixtures.NchwToNhwc(input, 2, 3, 32, 32), 2, 32);
        using var session = ExportFixtures.StrictSession(File.ReadAllBytes(file));
        var theirs = ExportFixtures.OnnxLogits(session, input, 2, 32);
        Assert.True(ExportFixtures.RelativeError(theirs, ours) <= 1e-5, $"relative error {ExportFixtures.RelativeError(theirs, ours):E2}");

        var metadata = session.ModelMetadata.CustomMetadataMap;
        var normalization = DatasetLoader.Normalization(model.Settings);
        Assert.Equal("igcv3-d", metadata["network"]);
        Assert.Equal("0.25", metadata["width_multiplier"]);
        Assert.Equal("synthetic", metadata["dataset"]);
        Assert.Equal(normalization.Mean, metadata["mean"].Split(',').Select(v => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(normalization.Std, metadata["std"].Split(',').Select(v => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"class_{i}"), JsonSerializer.Deserialize<string[]>(metadata["class_names"]));
        Assert.Equal("Igcv3.Train", session.ModelMetadata.ProducerName);
        Assert.Equal(["input"], session.InputNames);
        Assert.Equal([-1, 3, 32, 32], session.InputMetadata["input"].Dimensions);
    }

    [Fact]
    public void MissingCheckpoint_UnknownFormat_AndAnUnwritableOutput_FailCleanly_AndLeaveTheOldFile()
    {
        using var temp = new TempFolder();
        string run = tiny.Folder;
        string file = temp.File("model.onnx");
        File.WriteAllText(file, "previous export");

        CliRunner.FailsWith(ExitCodes.Usage, "no checkpoint there", "export", "--checkpoint", temp.File("nowhere"), "--output", file);
        CliRunner.FailsWith(ExitCodes.Usage, "--format tflite: unknown format", "export", "--checkpoint", run, "--format", "tflite", "--output", file);
        // A checkpoint that does not fit the network asked for: nothing is written.
        CliRunner.FailsWith(ExitCodes.Checkpoint, "does not fit", "export", "--checkpoint", run, "--network", "mobilenetv2", "--output", file);
        // Under a file, no folder can be made.
        CliRunner.FailsWith(ExitCodes.Output, "cannot write --output", "export", "--checkpoint", run, "--output", Path.Combine(file, "model.onnx"));

        Assert.Equal("previous export", File.ReadAllText(file));
        Assert.Equal(["model.onnx"], Directory.GetFileSystemEntries(temp.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }
}
