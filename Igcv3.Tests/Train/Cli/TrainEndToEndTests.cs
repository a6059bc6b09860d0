using System.Text.Json;
using Igcv3.Engine.Checkpoints;
using Igcv3.Engine.Cpu;
using Igcv3.Engine.Nn;
using Igcv3.Networks;
using Igcv3.Tests.Support;
using Igcv3.Train.Logging;
using Igcv3.Train.Settings;
using Igcv3.Train.Training;
using Xunit;

namespace Igcv3.Tests.Train.Cli;

/// <summary>Whole runs of <c>train</c> and <c>eval</c> on the CPU with a tiny network: the loss falls and every output file can be read back.</summary>
public class TrainEndToEndTests
{
    [Fact]
    public void Synthetic_LossFalls_AndEveryOutputFileIsWrittenAndReadable()
    {
        using var temp = new TempFolder();
        string run = temp.File("run");
        var result = CliRunner.Succeeds(["train", .. CliRunner.TinyNetwork, .. CliRunner.TinySynthetic(train: 256), "--epochs", "3",
            "--schedule", "cosine", "--warmup-epochs", "0", "--lr", "0.05", "--output", run]);

        // Loss falls: the mean of the last four steps well below the mean of the first four (24 steps in all).
        var losses = StepLog.ReadLosses(Path.Combine(run, "steps.csv"));
        Assert.Equal(Enumerable.Range(1, 24).Select(i => (long)i), losses.Select(l => l.Step));
        double first = losses.Take(4).Average(l => l.Loss), last = losses.TakeLast(4).Average(l => l.Loss);
        Assert.True(last < 0.7 * first, $"loss went from {first} to {last}");

        // Per-epoch metrics: CSV and JSONL hold the same three epochs, and the epoch means agree with steps.csv.
        var csv = MetricsCsv.Read(Path.Combine(run, "metrics.csv"));
        var jsonl = MetricsJsonl.Read(Path.Combine(run, "metrics.jsonl"));
        Assert.Equal([1, 2, 3], csv.Select(m => m.Epoch));
        Assert.Equal(csv, jsonl);
        for (int e = 0; e < 3; e++)
            Assert.Equal(losses.Skip(8 * e).Take(8).Average(l => l.Loss), csv[e].TrainLoss, 1e-9);
        Assert.All(csv, m => Assert.InRange(m.TestTop1!.Value, 0, 100));
        Assert.All(csv, m => Assert.True(m.TestTop5 >= m.TestTop1));

        // TensorBoard: the event file parses back and carries the same numbers at step = epoch.
        var events = TensorBoardReader.ReadEvents(Directory.GetFiles(Path.Combine(run, "tensorboard"), "events.out.tfevents.*").Single());
        Assert.Equal(csv.Select(m => ((long)m.Epoch, (float)m.TrainLoss)), TensorBoardReader.Scalars(events, "loss/train"));
        Assert.Equal(csv.Select(m => ((long)m.Epoch, (float)m.TestTop1!.Value)), TensorBoardReader.Scalars(events, "accuracy/test_top1"));
        Assert.Equal(3, TensorBoardReader.Scalars(events, "lr").Count);
        // ... and every step's loss at step = the global step (read after each step on the CPU).
        Assert.Equal(losses.Select(l => (l.Step, (float)l.Loss)), TensorBoardReader.Scalars(events, "step/loss"));
        Assert.Equal(24, TensorBoardReader.Scalars(events, "step/images_per_s").Count);

        string html = File.ReadAllText(Path.Combine(run, "curves.html"));
        Assert.Contains("<svg", html);
        Assert.Contains("<polyline data-series=\"train loss (steps)\"", html);
        Assert.Contains("</html>", html);

        // config.json is the resolved settings and can be fed back as a config.
        var config = SettingsLoader.Merge(("config.json", SettingsLoader.ReadConfigFile(Path.Combine(run, "config.json"))));
        Assert.Equal(("resnet", 8, 8, 3, "synthetic"), (config.Network, config.Depth, config.Width!.Value, config.Epochs, config.Dataset));

        // Checkpoints load into a freshly built network of the same shape.
        foreach (string name in new[] { "last.safetensors", "best.safetensors" })
        {
            var network = NetworkRegistry.Create("resnet", new NetworkOptions { Depth = 8, Width = 8 });
            var set = ParameterSet.Create(network, CpuBackend.Instance, seed: 99);
            var loaded = Checkpoint.Load(Path.Combine(run, name), set, new Sgd(set));
            Assert.Equal("resnet", loaded.Metadata[Trainer.NetworkKey]);
        }

        var summary = RunSummary.Load(Path.Combine(run, "summary.json"));
        double bestTop1 = csv.Max(m => m.TestTop1!.Value);
        Assert.Equal(bestTop1, summary.BestTop1);
        Assert.Equal(csv[^1].TestTop1, summary.FinalTop1);
        Assert.Contains("best  top-1", result.Out);
        Assert.Equal("Completed: 3 epochs trained.", result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);

        // eval of the run folder evaluates best.safetensors: the same test top-1 as logged for the best epoch.
        var eval = CliRunner.Succeeds("eval", "--checkpoint", run);
        Assert.Contains($"top-1 {bestTop1:F2}%", eval.Out);
    }

    [Fact]
    public void SharedCifar10_ThousandImages_LossFalls()
    {
        string? folder = SharedCifarTests.FindSharedCifar10();
        if (folder is null) Assert.Skip("the shared CIFAR-10 copy (../shared/data/cifar10 beside the repository) is not on this machine");
        using var temp = new TempFolder();
        string run = temp.File("run");
        CliRunner.Succeeds(["train", .. CliRunner.TinyNetwork, "--dataset", "cifar10", "--data-dir", folder, "--limit-train", "1000", "--limit-test", "200",
            "--batch-size", "50", "--epochs", "2", "--schedule", "cosine", "--warmup-epochs", "0", "--lr", "0.05", "--output", run]);

        var losses = StepLog.ReadLosses(Path.Combine(run, "steps.csv"));
        Assert.Equal(40, losses.Count);
        double first = losses.Take(5).Average(l => l.Loss), last = losses.TakeLast(5).Average(l => l.Loss);
        // Ten classes: chance is ln 10 = 2.30; after 40 steps a working trainer is clearly below its start.
        Assert.True(last < first - 0.15, $"loss went from {first} to {last}");
        var csv = MetricsCsv.Read(Path.Combine(run, "metrics.csv"));
        Assert.Equal(2, csv.Count);
        Assert.True(csv[^1].TestTop1 > 15, $"test top-1 {csv[^1].TestTop1}% is no better than chance");
    }

    [Fact]
    public void ConfigFile_IsOverriddenByTheCommandLine()
    {
        using var temp = new TempFolder();
        string config = temp.File("recipe.json");
        File.WriteAllText(config, """
            {
              // comments are allowed
              "network": "resnet", "depth": 8, "width": 8, "device": "cpu",
              "dataset": "synthetic", "synthetic-train": 64, "synthetic-test": 32,
              "epochs": 5, "lr": 0.3, "batch-size": 32, "milestones": [0.25, 0.5],
            }
            """);
        string run = temp.File("run");
        CliRunner.Succeeds("train", "--config", config, "--epochs", "1", "--milestones", "0.4,0.6", "--output", run);
        var used = JsonSerializer.Deserialize<RunSettings>(File.ReadAllText(Path.Combine(run, "config.json")), SettingsLoader.Json)!;
        Assert.Equal(1, used.Epochs);          // from the command line
        Assert.Equal(0.3, used.Lr);            // from the file
        Assert.Equal(32, used.BatchSize);      // from the file
        Assert.Equal([0.4, 0.6], used.Milestones);
        Assert.Equal(0.9, used.Momentum);      // the default
        Assert.Single(MetricsCsv.Read(Path.Combine(run, "metrics.csv")));
    }

    /// <summary>The shipped recipes build the networks of the spec's parameter table (IGC_SPEC.md, "Parameter counts").</summary>
    [Theory]
    [InlineData("igcv3-d-1.0x-cifar10", 2_223_498, 0.1, "exponential")]
    [InlineData("igcv3-d-1.0x-cifar100", 2_338_788, 0.1, "exponential")]
    [InlineData("igcv3-d-0.7x-cifar10", 1_178_940, 0.1, "exponential")]
    [InlineData("igcv3-d-0.5x-cifar10", 665_942, 0.1, "exponential")]
    [InlineData("mobilenetv2-1.0x-cifar10", 2_236_682, 0.1, "exponential")]
    [InlineData("mobilenetv2-1.0x-cifar100", 2_351_972, 0.1, "exponential")]
    [InlineData("igcv1-plain-igc-d38-l24-m2-cifar10", 317_242, 0.1, "step")]
    [InlineData("igcv1-resnet-igc-d20-l2-m8-cifar10", 139_098, 0.1, "step")]
    [InlineData("igcv3-d-1.0x-cifar10-onecycle-short", 2_223_498, 0.4, "onecycle")]
    public void ShippedConfig_BuildsTheSpecNetwork(string name, long parameters, double lr, string schedule)
    {
        var s = SettingsLoader.Merge(("config", SettingsLoader.ReadConfigFile(name)));
        SettingsValidation.Validate(s);
        Assert.Equal((lr, schedule), (s.Lr, s.Schedule));
        var network = ModelBuilder.Network(s, DatasetLoader.ClassCount(s.Dataset));
        Assert.Equal(parameters, network.ParameterCount());
        Assert.NotNull(ModelBuilder.Schedule(s));
    }
}
