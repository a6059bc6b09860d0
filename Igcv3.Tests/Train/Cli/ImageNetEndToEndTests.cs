using Igcv3.Tests.Support;
using Igcv3.Tests.Train.Images;
using Igcv3.Train.Commands;
using Igcv3.Train.Logging;
using Igcv3.Train.Training;
using Xunit;

namespace Igcv3.Tests.Train.Cli;

/// <summary>
/// <c>train</c> and <c>eval</c> with --dataset imagenet on a tiny ImageNet-like set the test
/// writes (3 classes, JPEGs of 80x60), in both layouts, with the smallest ImageNet network
/// (resnet-igc-imagenet-d18 at L=2, M=1: 7,557 parameters) at 224x224 on the CPU.
/// </summary>
public sealed class ImageNetEndToEndTests : IDisposable
{
    private static readonly string[] Classes = ["n01440764", "n01443537", "n01484850"];
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private static readonly string[] TinyImageNetNetwork =
        ["--dataset", "imagenet", "--network", "resnet-igc-imagenet-d18", "--l", "2", "--m", "1", "--device", "cpu", "--workers", "2"];

    /// <summary>A JPEG of class <paramref name="k"/>: a flat class colour with a little noise.</summary>
    private static byte[] ClassImage(int k, int i)
    {
        var random = new Random(k * 100 + i);
        (int R, int G, int B) c = k switch { 0 => (220, 40, 40), 1 => (40, 200, 40), _ => (40, 40, 220) };
        return EncodedImages.Jpeg(EncodedImages.Make(80, 60, (_, _) =>
            ((byte)Math.Clamp(c.R + random.Next(-20, 21), 0, 255), (byte)Math.Clamp(c.G + random.Next(-20, 21), 0, 255), (byte)Math.Clamp(c.B + random.Next(-20, 21), 0, 255))), quality: 90);
    }

    private string WriteFolders(int trainPerClass, int valPerClass)
    {
        string root = _temp.File("imagenet");
        foreach (var (split, count) in new[] { ("train", trainPerClass), ("val", valPerClass) })
            for (int k = 0; k < Classes.Length; k++)
            {
                string folder = Path.Combine(root, split, Classes[k]);
                Directory.CreateDirectory(folder);
                for (int i = 0; i < count; i++) File.WriteAllBytes(Path.Combine(folder, $"{Classes[k]}_{i}.JPEG"), ClassImage(k, i + (split == "val" ? 50 : 0)));
            }
        return root;
    }

    [Fact]
    public void Folders_TrainWithACorruptFile_ThenEval_TopOneAndTopFive()
    {
        string data = WriteFolders(trainPerClass: 4, valPerClass: 2);
        string corrupt = Path.Combine(data, "train", Classes[1], "broken.JPEG");
        File.WriteAllBytes(corrupt, [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]);
        string run = _temp.File("run");

        // 13 training files (one corrupt), batch 4: 3 steps an epoch.
        var result = CliRunner.Succeeds(["train", .. TinyImageNetNetwork, "--data-dir", data, "--batch-size", "4", "--eval-batch-size", "4",
            "--epochs", "2", "--lr", "0.05", "--hue", "0.1", "--output", run]);
        Assert.Contains("on ImageNet (13 train / 6 test images)", result.Out);
        // The corrupt file is named once, whatever the epochs, and the run goes on.
        Assert.Single(result.Out.Split('\n'), l => l.Contains("skipped a corrupt image") && l.Contains("broken.JPEG"));
        // Progress shows the step's and the loader's rates apart.
        Assert.Contains("| step ", result.Out);
        Assert.Contains(" img/s  loader ", result.Out);

        var losses = StepLog.ReadLosses(Path.Combine(run, "steps.csv"));
        Assert.Equal(6, losses.Count);
        Assert.All(losses, l => Assert.True(double.IsFinite(l.Loss)));
        var metrics = MetricsCsv.Read(Path.Combine(run, "metrics.csv"));
        Assert.Equal([1, 2], metrics.Select(m => m.Epoch));
        // Three classes: every image's label is within the top five.
        Assert.All(metrics, m => Assert.Equal(100.0, m.TestTop5!.Value));
        // Six validation images: top-1 is a whole number of sixths.
        Assert.All(metrics, m => Assert.Equal(Math.Round(m.TestTop1!.Value * 6 / 100), m.TestTop1!.Value * 6 / 100, 1e-9));

        var eval = CliRunner.Succeeds("eval", "--checkpoint", run, "--workers", "1", "--jpeg-draft", "off");
        Assert.Contains("on ImageNet (6 images)", eval.Out);
        Assert.Contains("top-5 100.00%", eval.Out);
    }

    [Fact]
    public void RecordIO_TrainsFromTrainRecAndValRec()
    {
        string data = _temp.File("rec");
        Directory.CreateDirectory(data);
        foreach (var (split, count) in new[] { ("train", 3), ("val", 1) })
        {
            using var writer = new RecordIOWriter(Path.Combine(data, $"{split}.rec"));
            for (int i = 0; i < count; i++)
                for (int k = 0; k < Classes.Length; k++) writer.WriteImage(k, ClassImage(k, i), id: (ulong)(i * 3 + k));
        }
        string run = _temp.File("run");
        // RecordIO labels are numbers: ImageNet's 1000 classes.
        var result = CliRunner.Succeeds(["train", .. TinyImageNetNetwork, "--data-dir", data, "--batch-size", "3", "--eval-batch-size", "3",
            "--epochs", "1", "--output", run]);
        Assert.Contains("on ImageNet (9 train / 3 test images)", result.Out);
        Assert.Equal(3, StepLog.ReadLosses(Path.Combine(run, "steps.csv")).Count);
        // RecordIO labels are bare numbers: the network has ImageNet's 1000 classes.
        Assert.True(Igcv3.Engine.Checkpoints.SafeTensorsReader.Read(Path.Combine(run, "last.safetensors")).TryGet("classifier.bias", out var bias));
        Assert.Equal([1000L], bias.Shape.ToArray());
    }

    [Fact]
    public void MissingData_WrongAugmentation_AndACifarOnlyNetwork_AreClearErrors()
    {
        CliRunner.FailsWith(ExitCodes.Data, "holds neither train/ and val/",
            ["train", .. TinyImageNetNetwork, "--data-dir", _temp.Path, "--output", _temp.File("run")]);
        CliRunner.FailsWith(ExitCodes.Usage, "--augment pad-crop-flip is the 32x32 datasets' augmentation",
            ["train", .. TinyImageNetNetwork, "--data-dir", _temp.Path, "--augment", "pad-crop-flip", "--output", _temp.File("run")]);
        CliRunner.FailsWith(ExitCodes.Usage, "has no ImageNet (224x224) variant",
            ["train", "--dataset", "imagenet", "--network", "resnet", "--depth", "8", "--device", "cpu", "--data-dir", _temp.Path, "--output", _temp.File("run")]);
        CliRunner.FailsWith(ExitCodes.Usage, "unknown jpeg-draft 'maybe'; choose one of on, off",
            ["train", .. TinyImageNetNetwork, "--data-dir", _temp.Path, "--jpeg-draft", "maybe", "--output", _temp.File("run")]);
        CliRunner.FailsWith(ExitCodes.Usage, "--hue must be in [0, 0.5]",
            ["train", .. TinyImageNetNetwork, "--data-dir", _temp.Path, "--hue", "0.7", "--output", _temp.File("run")]);
        Assert.False(Directory.Exists(_temp.File("run")));
    }
}
