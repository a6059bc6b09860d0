using Igcv3.Engine.Checkpoints;
using Igcv3.Engine.Cpu;
using Igcv3.Engine.Nn;
using Igcv3.Networks;
using Igcv3.Tests.Support;
using Igcv3.Train.Commands;
using Igcv3.Train.Settings;
using Igcv3.Train.Training;
using Xunit;

namespace Igcv3.Tests.Train.Cli;

/// <summary><c>train --init-from</c>: matching tensors copied, a classifier of another class count
/// initialised afresh, and the report of both.</summary>
public class FineTuneTests(TinyIgcv3Run tiny) : IClassFixture<TinyIgcv3Run>
{
    private static readonly NetworkOptions ImageNet1000 = new() { WidthMultiplier = 0.25, Input = InputKind.ImageNet, Classes = 1000 };

    /// <summary>An ImageNet IGCV3-D (1000 classes) checkpoint: the same tensors as the CIFAR
    /// variant (only two strides differ) but for the classifier.</summary>
    private static (string Path, ParameterSet Set) ImageNetCheckpoint(TempFolder temp)
    {
        var source = NetworkRegistry.Create("igcv3-d", ImageNet1000);
        var set = ParameterSet.Create(source, CpuBackend.Instance, seed: 5);
        ExportFixtures.RandomiseBatchNorms(source, seed: 6);
        string path = temp.File("imagenet.safetensors");
        Checkpoint.Save(path, set);
        return (path, set);
    }

    [Fact]
    public void ImageNetToCifar_CopiesEveryMatchingTensor_AndLeavesTheOtherClassifierAtItsFreshInitialisation()
    {
        using var temp = new TempFolder();
        var (path, source) = ImageNetCheckpoint(temp);
        var cifar = new NetworkOptions { WidthMultiplier = 0.25, Classes = 10 };
        var target = ParameterSet.Create(NetworkRegistry.Create("igcv3-d", cifar), CpuBackend.Instance, seed: 9);
        var fresh = ParameterSet.Create(NetworkRegistry.Create("igcv3-d", cifar), CpuBackend.Instance, seed: 9);

        var report = WeightTransfer.Apply(path, target);

        Assert.Equal(["classifier.weight", "classifier.bias"], report.Kept.Select(k => k.Name).Order(StringComparer.Ordinal).Reverse());
        Assert.Contains(("classifier.weight", "[1000, 1280] in the source, [10, 1280] here"), report.Kept);
        Assert.Equal(target.Parameters.Count + target.BufferSlots.Count - 2, report.Loaded.Count);
        Assert.Empty(report.Unused);
        var sourceValues = source.Parameters.Concat(source.BufferSlots).ToDictionary(p => p.Name, p => p.Parameter.Value.ToFloatArray());
        var freshValues = fresh.Parameters.Concat(fresh.BufferSlots).ToDictionary(p => p.Name, p => p.Parameter.Value.ToFloatArray());
        foreach (var (name, slot) in target.Parameters.Concat(target.BufferSlots))
            Assert.Equal(report.Loaded.Contains(name) ? sourceValues[name] : freshValues[name], slot.Value.ToFloatArray());
        // The randomised running statistics came across too (a fresh BN has mean 0).
        Assert.NotEqual(freshValues["stem.bn.running_mean"], target.BufferSlots.Single(b => b.Name == "stem.bn.running_mean").Parameter.Value.ToFloatArray());
    }

    [Fact]
    public void Train_InitFrom_SaysWhatItLoadedAndWhatNot_TrainsAndRecordsTheSource()
    {
        using var temp = new TempFolder();
        var (path, _) = ImageNetCheckpoint(temp);
        string run = temp.File("finetune");

        var result = CliRunner.Succeeds(["train", "--network", "igcv3-d", "--width-multiplier", "0.25", "--device", "cpu", .. CliRunner.TinySynthetic(train: 64, test: 32),
            "--epochs", "1", "--init-from", path, "--output", run]);

        Assert.Matches(@"--init-from .*imagenet\.safetensors: loaded (\d+) of \d+ tensors", result.Out);
        Assert.Contains("not loaded, initialised afresh: classifier.weight ([1000, 1280] in the source, [10, 1280] here)", result.Out);
        Assert.Contains("not loaded, initialised afresh: classifier.bias ([1000] in the source, [10] here)", result.Out);
        var config = SettingsLoader.Merge(("config.json", SettingsLoader.ReadConfigFile(Path.Combine(run, "config.json"))));
        Assert.Equal(Path.GetFullPath(path), config.InitFrom);
        Assert.True(File.Exists(Path.Combine(run, "last.safetensors")));
    }

    [Fact]
    public void Train_InitFromARunFolder_LoadsEverythingOfTheSameNetwork()
    {
        using var temp = new TempFolder();
        var result = CliRunner.Succeeds(["train", "--network", "igcv3-d", "--width-multiplier", "0.25", "--device", "cpu", .. CliRunner.TinySynthetic(train: 64, test: 32),
            "--epochs", "1", "--init-from", tiny.Folder, "--output", temp.File("again")]);

        var match = System.Text.RegularExpressions.Regex.Match(result.Out, @"best\.safetensors: loaded (\d+) of (\d+) tensors");
        Assert.True(match.Success, result.Out);
        Assert.Equal(match.Groups[2].Value, match.Groups[1].Value);
        Assert.DoesNotContain("not loaded", result.Out);
    }

    [Fact]
    public void InitFrom_NothingThatFits_OrNoFile_FailsBeforeWritingTheRun()
    {
        using var temp = new TempFolder();
        string foreign = temp.File("foreign.safetensors");
        File.WriteAllBytes(foreign, SafeTensorsWriter.ToBytes([SafeTensor.FromFloats("encoder.layer.0.weight", new float[4], [2, 2])]));
        string[] train = ["train", "--network", "igcv3-d", "--width-multiplier", "0.25", "--device", "cpu", .. CliRunner.TinySynthetic(train: 64, test: 32), "--epochs", "1"];

        CliRunner.FailsWith(ExitCodes.Checkpoint, "none of its tensors has the name and shape", [.. train, "--init-from", foreign, "--output", temp.File("a")]);
        CliRunner.FailsWith(ExitCodes.Usage, "--init-from", [.. train, "--init-from", temp.File("missing"), "--output", temp.File("b")]);

        Assert.Equal(["foreign.safetensors"], temp.Entries());
    }
}
