using Igcv3.Kernels;
using Igcv3.Tests.Support;
using Igcv3.Train.Commands;
using Xunit;

namespace Igcv3.Tests.Train.Cli;

/// <summary>
/// Every user mistake the issue lists: one line on stderr saying what is wrong and what to do, a
/// non-zero exit code, no stack trace, and an existing output folder left exactly as it was.
/// </summary>
public sealed class CliErrorTests : IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly string _output;
    private readonly Dictionary<string, byte[]> _before;

    public CliErrorTests()
    {
        // An output folder holding earlier work that no failed command may touch.
        _output = _temp.File("earlier-work");
        Directory.CreateDirectory(_output);
        File.WriteAllText(Path.Combine(_output, "notes.txt"), "results of last week");
        File.WriteAllBytes(Path.Combine(_output, "model.bin"), [1, 2, 3, 4]);
        _before = Snapshot(_output);
    }

    public void Dispose() => _temp.Dispose();

    private static Dictionary<string, byte[]> Snapshot(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(folder, f), File.ReadAllBytes);

    private void AssertOutputUntouched()
    {
        var after = Snapshot(_output);
        Assert.Equal(_before.Keys.Order(), after.Keys.Order());
        foreach (var (name, bytes) in _before) Assert.Equal(bytes, after[name]);
    }

    private CliRunner.Result TrainFails(int code, string fragment, params string[] args)
    {
        var result = CliRunner.FailsWith(code, fragment, ["train", .. args, "--output", _output]);
        AssertOutputUntouched();
        return result;
    }

    [Fact]
    public void MissingDataFolder() =>
        TrainFails(ExitCodes.Data, "does not exist; point --data-dir at the cifar-10-batches-bin folder, or add --download",
            [.. CliRunner.TinyNetwork, "--data-dir", _temp.File("no-such-folder")]);

    [Fact]
    public void MissingDataFile()
    {
        string data = _temp.File("cifar");
        Directory.CreateDirectory(data);
        TrainFails(ExitCodes.Data, "data_batch_1.bin is missing from", [.. CliRunner.TinyNetwork, "--data-dir", data]);
    }

    [Fact]
    public void DataFileOfTheWrongSize()
    {
        string data = _temp.File("cifar");
        Directory.CreateDirectory(data);
        File.WriteAllBytes(Path.Combine(data, "data_batch_1.bin"), new byte[3073 * 7 + 5]);
        TrainFails(ExitCodes.Data, "data_batch_1.bin is 21,516 bytes, not a whole number of 3,073-byte records",
            [.. CliRunner.TinyNetwork, "--data-dir", data]);
    }

    [Fact]
    public void UnknownNetwork() =>
        TrainFails(ExitCodes.Usage, "unknown network 'igcv9'; known: igcv3-d, mobilenetv2", "--network", "igcv9", "--dataset", "synthetic");

    [Fact]
    public void UnknownReluPosition() =>
        TrainFails(ExitCodes.Usage, "unknown relu 'sideways'; choose one of expand, depthwise, project (--relu)",
            "--network", "igcv3-d", "--relu", "depthwise,sideways", "--dataset", "synthetic");

    [Fact]
    public void UnknownDataset() =>
        TrainFails(ExitCodes.Usage, "unknown dataset 'mnist'; choose one of cifar10, cifar100, svhn, imagenet, synthetic", [.. CliRunner.TinyNetwork, "--dataset", "mnist"]);

    [Theory]
    [InlineData("--batch-size", "0", "--batch-size must be at least 1, got 0")]
    [InlineData("--batch-size", "-3", "--batch-size must be at least 1, got -3")]
    [InlineData("--width-multiplier", "0", "--width-multiplier must be positive, got 0")]
    [InlineData("--width-multiplier", "-0.5", "--width-multiplier must be positive, got -0.5")]
    [InlineData("--epochs", "0", "--epochs must be at least 1")]
    [InlineData("--lr", "abc", "--lr: 'abc' is not a number")]
    [InlineData("--label-smoothing", "1", "--label-smoothing must be in [0, 1)")]
    [InlineData("--device", "tpu", "--device must be auto, cpu, cuda, cuda:N or emulated")]
    [InlineData("--log-every", "0", "--log-every must be at least 1, got 0")]
    [InlineData("--pointwise-gemm", "fast", "unknown pointwise-gemm 'fast'; choose one of auto, tiled, cublas (--pointwise-gemm)")]
    public void ImpossibleOption(string option, string value, string message) =>
        TrainFails(ExitCodes.Usage, message, "--network", "igcv3-d", "--dataset", "synthetic", option, value);

    [Fact]
    public void GroupsThatDoNotDivideTheChannels() =>
        TrainFails(ExitCodes.Usage, "groups 3 must divide input channels 32", "--network", "igcv3-d", "--g1", "3", "--dataset", "synthetic");

    [Fact]
    public void BatchLargerThanTheTrainingSet() =>
        TrainFails(ExitCodes.Usage, "--batch-size 32 is larger than the training set (16 images)",
            [.. CliRunner.TinyNetwork, .. CliRunner.TinySynthetic(train: 16)]);

    [Fact]
    public void UnknownConfigKey()
    {
        string config = _temp.File("bad.json");
        File.WriteAllText(config, """{ "network": "resnet", "learning-rate": 0.1 }""");
        TrainFails(ExitCodes.Usage, "unknown setting 'learning-rate'", "--config", config);
    }

    [Fact]
    public void MissingConfigFile() =>
        TrainFails(ExitCodes.Usage, "not found; give a path, or one of the shipped configs: igcv1-plain-igc", "--config", "no-such-recipe");

    [Fact]
    public void UnwritableOutputFolder()
    {
        // A path below a regular file can never be created, whoever runs the tests (root ignores permissions).
        string file = _temp.File("a-file");
        File.WriteAllText(file, "x");
        var result = CliRunner.FailsWith(ExitCodes.Output, "cannot write to output folder",
            ["train", .. CliRunner.TinyNetwork, .. CliRunner.TinySynthetic(), "--epochs", "1", "--output", Path.Combine(file, "run")]);
        Assert.Contains("choose another --output", result.Error);
        Assert.Equal("x", File.ReadAllText(file));
    }

    [Fact]
    public void OutputFolderHoldingARun_IsNotOverwritten()
    {
        string run = _temp.File("run");
        CliRunner.Succeeds(["train", .. CliRunner.TinyNetwork, .. CliRunner.TinySynthetic(train: 64), "--epochs", "1", "--output", run]);
        var before = Snapshot(run);
        CliRunner.FailsWith(ExitCodes.Output, "already holds a run (last.safetensors); continue it with --resume",
            ["train", .. CliRunner.TinyNetwork, .. CliRunner.TinySynthetic(train: 64), "--epochs", "1", "--output", run]);
        Assert.Equal(before.Keys.Order(), Snapshot(run).Keys.Order());
        foreach (var (name, bytes) in before) Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(run, name)));
    }

    [Fact]
    public void CheckpointOfAnotherNetwork_ForEvalAndForResume()
    {
        string run = _temp.File("run");
        CliRunner.Succeeds(["train", .. CliRunner.TinyNetwork, .. CliRunner.TinySynthetic(train: 64), "--epochs", "1", "--output", run]);
        var before = Snapshot(run);

        CliRunner.FailsWith(ExitCodes.Checkpoint, "does not fit this network", "eval", "--checkpoint", run, "--width", "4");
        CliRunner.FailsWith(ExitCodes.Checkpoint, "does not fit this network", "train", "--resume", run, "--network", "plain", "--depth", "8", "--epochs", "2");

        foreach (var (name, bytes) in before) Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(run, name)));
        Assert.Equal(before.Keys.Order(), Snapshot(run).Keys.Order());
    }

    [Fact]
    public void ResumeWithoutACheckpoint() =>
        TrainFails(ExitCodes.Usage, "no checkpoint there", "--resume", _temp.File("nothing-here"));

    [Fact]
    public void CudaWithoutAGpu()
    {
        if (CudaDevice.TryOpen(out var device, out _))
        {
            device!.Dispose();
            Assert.Skip("this machine has a usable GPU, so --device cuda is not an error here");
        }
        TrainFails(ExitCodes.Device, "--device cuda: no usable GPU", [.. CliRunner.TinyNetwork[..^2], "--dataset", "synthetic", "--device", "cuda"]);
    }

    /// <summary>A GPU whose CUDA backend cannot start (NVRTC or cuBLAS missing): still one line and
    /// the device exit code, not a bug report. Needs a GPU, since without one the device fails first.</summary>
    [Fact]
    [Trait("device", "gpu")]
    public void CudaBackendThatCannotStart()
    {
        if (!CudaDevice.TryOpen(out var device, out string? reason)) Assert.Skip($"needs a GPU to get past opening the device ({reason})");
        device!.Dispose();
        var broken = CliRunner.Environment(cancellation: TestContext.Current.CancellationToken, cudaBackend: _ => throw new DllNotFoundException("libnvrtc.so.13: cannot open shared object file"));
        CliRunner.FailsWith(broken, ExitCodes.Device, "the CUDA backend could not start (libnvrtc.so.13",
            ["train", .. CliRunner.TinyNetwork[..^2], "--dataset", "synthetic", "--device", "cuda", "--output", _output]);
        AssertOutputUntouched();
    }

    /// <summary>Ctrl+C during eval (no checkpoint is due): one line and the interrupted exit code, not a bug report.</summary>
    [Fact]
    public void CtrlC_DuringEval()
    {
        string run = _temp.File("run");
        CliRunner.Succeeds(["train", .. CliRunner.TinyNetwork, .. CliRunner.TinySynthetic(train: 32, test: 32), "--epochs", "1", "--output", run]);
        using var ctrlC = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        ctrlC.Cancel(); // pressed before eval's first batch
        var result = CliRunner.FailsWith(CliRunner.Environment(cancellation: ctrlC.Token), ExitCodes.Interrupted,
            "stopped by Ctrl+C", "eval", "--checkpoint", run);
        Assert.DoesNotContain("top-1", result.Out);
    }

    [Fact]
    public void UnknownOptionOrCommand()
    {
        CliRunner.FailsWith(ExitCodes.Usage, "--learning-rate", "train", "--learning-rate", "0.1");
        CliRunner.FailsWith(ExitCodes.Usage, "fit", "fit");
    }

    /// <summary>The other side of the contract: an unexpected exception is a bug and keeps its stack trace.</summary>
    [Fact]
    public void UnexpectedException_IsReportedWithItsStackTrace()
    {
        var error = new StringWriter();
        int code;
        try { throw new InvalidOperationException("index out of step"); }
        catch (Exception e) { code = ErrorReporter.Report(e, error); }
        Assert.Equal(ExitCodes.Bug, code);
        Assert.Contains("internal error", error.ToString());
        Assert.Contains("InvalidOperationException: index out of step", error.ToString());
        Assert.Contains("   at ", error.ToString());
    }
}
