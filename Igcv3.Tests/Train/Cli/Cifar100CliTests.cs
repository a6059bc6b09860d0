using System.Security.Cryptography;
using Igcv3.Engine.Checkpoints;
using Igcv3.Engine.Cpu;
using Igcv3.Engine.Nn;
using Igcv3.Networks;
using Igcv3.Tests.Support;
using Igcv3.Train.Data;
using Igcv3.Train.Logging;
using Igcv3.Train.Training;
using Xunit;

namespace Igcv3.Tests.Train.Cli;

/// <summary>
/// CIFAR-100 through the command line, from the download on: a smaller release (the official file
/// names and record layout, 2 label bytes; 96 training and 40 test images) packed as the official
/// archive and served from 127.0.0.1, standing in for the official URL through the environment's
/// layouts. The same path a user's <c>--dataset cifar100 --download</c> takes.
/// </summary>
public sealed class Cifar100CliTests : IDisposable
{
    private static readonly CifarLayout Small = CifarLayout.Cifar100 with { RecordsPerTrainFile = 96, RecordsPerTestFile = 40 };

    private readonly TempFolder _temp = new();
    private readonly LocalHttpServer _server;
    private readonly CifarLayout _served;
    private readonly Dictionary<string, byte[]> _files;

    public Cifar100CliTests()
    {
        (byte[] archive, _files) = FakeCifar.Archive(Small, seed: 100);
        _server = new LocalHttpServer("/cifar-100-binary.tar.gz", archive);
        _served = Small with { ArchiveUrl = new Uri(_server.BaseUrl, "cifar-100-binary.tar.gz"), ArchiveMd5 = Convert.ToHexStringLower(MD5.HashData(archive)) };
    }

    public void Dispose()
    {
        _server.Dispose();
        _temp.Dispose();
    }

    private CliRunner.Result Succeeds(params string[] args)
    {
        var result = CliRunner.Run(CliRunner.Environment(layouts: kind => kind == CifarKind.Cifar100 ? _served : CifarLayout.For(kind)), args);
        Assert.True(result.Code == 0, result.ToString());
        return result;
    }

    [Fact]
    public void Download_Train_Resume_AndEval_OnCifar100()
    {
        string data = _temp.File("data"), run = _temp.File("run");
        var train = Succeeds(["train", .. CliRunner.TinyNetwork, "--dataset", "cifar100", "--download", "--data-dir", data,
            "--batch-size", "32", "--eval-batch-size", "40", "--epochs", "1", "--output", run]);

        // Downloaded, checked and extracted where --data-dir said, byte for byte.
        Assert.Contains("Downloading", train.Out);
        foreach (var (name, bytes) in _files) Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(data, "cifar-100-binary", name)));
        Assert.Equal(1, _server.Requests);

        // Trained on all 96 images (3 steps) with a 100-way classifier, evaluated on the 40 test images.
        Assert.Equal(3, StepLog.ReadLosses(Path.Combine(run, "steps.csv")).Count);
        var network = NetworkRegistry.Create("resnet", new NetworkOptions { Depth = 8, Width = 8, Classes = 100 });
        var set = ParameterSet.Create(network, CpuBackend.Instance, seed: 5);
        Checkpoint.Load(Path.Combine(run, "last.safetensors"), set); // throws if the classifier is not 100-way
        var metrics = MetricsCsv.Read(Path.Combine(run, "metrics.csv")).Single();
        Assert.InRange(metrics.TestTop1!.Value, 0, 100);

        // A second epoch through --resume reads the files already there: no new request.
        Succeeds("train", "--resume", run, "--epochs", "2");
        Assert.Equal(1, _server.Requests);
        Assert.Equal(2, MetricsCsv.Read(Path.Combine(run, "metrics.csv")).Count);

        // eval of the run folder: its best epoch's top-1 on the same 40 images.
        var best = RunSummary.Load(Path.Combine(run, "summary.json")).BestTop1;
        var eval = Succeeds("eval", "--checkpoint", run);
        Assert.Contains("(40 images)", eval.Out);
        Assert.Contains($"top-1 {best:F2}%", eval.Out);
    }

    [Fact]
    public void Download_FetchesTheRelease_WhenAFileOfItIsMissing()
    {
        string data = _temp.File("data");
        Directory.CreateDirectory(Path.Combine(data, "cifar-100-binary"));
        File.WriteAllBytes(Path.Combine(data, "cifar-100-binary", "train.bin"), _files["train.bin"]); // test.bin lost

        Succeeds(["train", .. CliRunner.TinyNetwork, "--dataset", "cifar100", "--download", "--data-dir", data,
            "--batch-size", "32", "--epochs", "1", "--output", _temp.File("run")]);

        Assert.Equal(1, _server.Requests);
        Assert.Equal(_files["test.bin"], File.ReadAllBytes(Path.Combine(data, "cifar-100-binary", "test.bin")));
    }
}
