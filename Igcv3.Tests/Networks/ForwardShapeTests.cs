using Igcv3.Engine;
using Igcv3.Engine.Nn;
using Igcv3.Networks;
using Igcv3.Tests.Support;
using Xunit;

namespace Igcv3.Tests.Networks;

/// <summary>Every network and variant runs forward on the CPU and gives [N, classes] logits.
/// Smallest multipliers, widths and depths the spec allows keep the suite fast, so every ImageNet
/// variant runs at its real 224x224.</summary>
public class ForwardShapeTests
{
    private static void RunsTo(Network net, Shape input)
    {
        ParameterSet.Create(net, Make.Cpu, seed: 1);
        using var _ = GradMode.NoGrad();
        var y = net.Forward(Make.Random(input, 2, DType.F32));
        Assert.Equal(new Shape(input[0], net.Classes), y.Shape);
        Assert.All(y.ToDoubleArray(), v => Assert.True(double.IsFinite(v)));
    }

    public static TheoryData<string, NetworkOptions> CifarVariants => new()
    {
        { "igcv3-d", new() { WidthMultiplier = 0.25, Classes = 10 } },
        { "igcv3-d", new() { WidthMultiplier = 0.25, Classes = 3, G1 = 4, G2 = 4, Arithmetic = WidthArithmetic.Clean, OutputPermutation = true } },
        { "igcv3-d", new() { WidthMultiplier = 0.25, Classes = 3, Relu = ReluPlacement.AfterExpand | ReluPlacement.AfterDepthwise | ReluPlacement.AfterProject } },
        { "igcv3-d", new() { WidthMultiplier = 0.25, Classes = 3, Relu = ReluPlacement.None, G1 = 1, G2 = 1 } },
        { "mobilenetv2", new() { WidthMultiplier = 0.25, Classes = 100 } },
        { "mobilenetv2", new() { WidthMultiplier = 0.25, Classes = 3, ExpandWhenT1 = true, Arithmetic = WidthArithmetic.Clean } },
        { "igcv2", new() { WidthMultiplier = 0.25, Classes = 10 } },
        { "igcv2", new() { WidthMultiplier = 0.25, Classes = 10, IgcV2Depth = 4 } },
        { "plain-igc", new() { Depth = 5, L = 3, M = 2, Classes = 10 } },
        { "resnet-igc", new() { Depth = 8, L = 2, M = 3, Classes = 10 } },
        { "plain", new() { Depth = 5, Width = 5, Classes = 10 } },
        { "resnet", new() { Depth = 8, Width = 5, Classes = 10 } },
    };

    [Theory]
    [MemberData(nameof(CifarVariants))]
    public void Cifar_Batch2(string name, NetworkOptions options) => RunsTo(NetworkRegistry.Create(name, options), [2, 32, 32, 3]);

    [Fact]
    public void InvertedResidualFamily_ImageNet224_Batch1() =>
        RunsTo(NetworkRegistry.Create("igcv3-d", new() { Input = InputKind.ImageNet, WidthMultiplier = 0.25, Classes = 1000 }), [1, 224, 224, 3]);

    [Fact]
    public void Igcv1Family_ImageNet224_Batch1() =>
        RunsTo(NetworkRegistry.Create("resnet-igc-imagenet-d18", new() { L = 2, M = 1, Classes = 1000 }), [1, 224, 224, 3]);

    [Theory]
    [InlineData("mobilenetv2")]
    [InlineData("igcv2")]
    [InlineData("resnet-imagenet-d18")]
    public void OtherImageNetVariants_At224(string name) =>
        RunsTo(NetworkRegistry.Create(name, new() { Input = InputKind.ImageNet, WidthMultiplier = 0.25, Width = 4, Classes = 1000 }), [1, 224, 224, 3]);

    [Fact]
    public void CifarAndImageNetVariants_DownsampleAsTheSpecSays()
    {
        // CIFAR: 32, 32, 32, 16, 8, 8, 4, 4 (stem, then stages 0..6); ImageNet: 112 after the stem.
        var cifar = NetworkRegistry.Create("igcv3-d", new() { WidthMultiplier = 0.25 });
        var s = ModelSummary.Of(cifar, cifar.InputShape(1));
        int Side(string layer) => s.Layers.Last(l => l.Name.StartsWith(layer, StringComparison.Ordinal)).Output[1];
        Assert.Equal([32, 32, 32, 16, 8, 8, 4, 4], new[] { "stem", "stages.0.", "stages.1.", "stages.2.", "stages.3.", "stages.4.", "stages.5.", "stages.6." }.Select(Side));
        var imagenet = NetworkRegistry.Create("igcv3-d", new() { WidthMultiplier = 0.25, Input = InputKind.ImageNet });
        var t = ModelSummary.Of(imagenet, imagenet.InputShape(1));
        Assert.Equal(112, t.Layers[0].Output[1]);
        Assert.Equal(7, t.Layers.Last(l => l.Name.StartsWith("head", StringComparison.Ordinal)).Output[1]);
    }
}
