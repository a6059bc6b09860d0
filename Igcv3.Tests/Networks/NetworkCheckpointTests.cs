using Igcv3.Engine;
using Igcv3.Engine.Checkpoints;
using Igcv3.Engine.Nn;
using Igcv3.Networks;
using Igcv3.Tests.Support;
using Xunit;

namespace Igcv3.Tests.Networks;

/// <summary>Checkpoints of real networks: a trained network saved and loaded into a fresh one gives
/// identical outputs (weights and BN running statistics both restored), and a checkpoint of one
/// width does not load into another.</summary>
public class NetworkCheckpointTests
{
    private static readonly NetworkOptions Tiny = new() { Classes = 10, WidthMultiplier = 0.25 };

    /// <summary>Two SGD steps in training mode, so that weights and running statistics have both
    /// moved away from their initial values.</summary>
    private static ParameterSet TrainedNetwork(Network net, Tensor images, Tensor labels)
    {
        var set = ParameterSet.Create(net, Make.Cpu, seed: 5);
        var sgd = new Sgd(set, momentum: 0.9, weightDecay: 5e-4);
        for (int step = 0; step < 2; step++)
        {
            set.ZeroGrad();
            Ops.SoftmaxCrossEntropy(net.Forward(images), labels).Backward();
            sgd.Step(0.05);
        }
        return set;
    }

    [Theory]
    [InlineData("igcv3-d")]
    [InlineData("mobilenetv2")]
    public void SaveThenLoad_GivesIdenticalEvalOutputs(string name)
    {
        using var folder = new TempFolder();
        var images = Make.Random([2, 16, 16, 3], 1, DType.F32);
        var labels = Make.Labels(2, 10, 2);
        var trained = NetworkRegistry.Create(name, Tiny);
        var set = TrainedNetwork(trained, images, labels);
        string path = folder.File("net.safetensors");
        Checkpoint.Save(path, set);

        var fresh = NetworkRegistry.Create(name, Tiny);
        var freshSet = ParameterSet.Create(fresh, Make.Cpu, seed: 99);
        Assert.NotEqual(set.Values.ToFloatArray(), freshSet.Values.ToFloatArray());
        Checkpoint.Load(path, freshSet);

        trained.Eval();
        fresh.Eval();
        Assert.Equal(set.Buffers.ToFloatArray(), freshSet.Buffers.ToFloatArray());
        Assert.Equal(trained.Forward(images).ToFloatArray(), fresh.Forward(images).ToFloatArray());
    }

    [Fact]
    public void CheckpointOfAnotherWidth_IsRejectedNamingATensor()
    {
        using var folder = new TempFolder();
        var narrow = NetworkRegistry.Create("igcv3-d", Tiny);
        string path = folder.File("narrow.safetensors");
        Checkpoint.Save(path, ParameterSet.Create(narrow, Make.Cpu, seed: 1));

        var wide = NetworkRegistry.Create("igcv3-d", Tiny with { WidthMultiplier = 0.5 });
        var wideSet = ParameterSet.Create(wide, Make.Cpu, seed: 1);
        var before = wideSet.Values.ToFloatArray();
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Load(path, wideSet));
        Assert.Contains("stem.conv.weight", e.Message);
        Assert.Equal(before, wideSet.Values.ToFloatArray());
    }
}
