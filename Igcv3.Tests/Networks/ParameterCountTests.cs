using Igcv3.Engine.Nn;
using Igcv3.Networks;
using Xunit;

namespace Igcv3.Tests.Networks;

/// <summary>One test per row of the parameter-count table in IGC_SPEC.md: trainable parameters
/// (conv weights, BN γ/β, FC weight and bias; BN running statistics excluded), which must equal
/// the released models and torchvision exactly.</summary>
public class ParameterCountTests
{
    private static long Count(string name, NetworkOptions options) => NetworkRegistry.Create(name, options).ParameterCount();

    [Fact]
    public void Igcv3D_1x_ImageNet_EqualsTheReleasedModel() =>
        Assert.Equal(3_491_688, Count("igcv3-d", new() { Classes = 1000, Input = InputKind.ImageNet }));

    [Fact]
    public void MobileNetV2_1x_ImageNet_EqualsTorchvision() =>
        Assert.Equal(3_504_872, Count("mobilenetv2", new() { Classes = 1000, Input = InputKind.ImageNet }));

    [Theory]
    [InlineData(10, 2_223_498)]
    [InlineData(100, 2_338_788)]
    public void Igcv3D_1x_Cifar(int classes, long expected) =>
        Assert.Equal(expected, Count("igcv3-d", new() { Classes = classes, Input = InputKind.Cifar }));

    [Theory]
    [InlineData(10, 2_236_682)]
    [InlineData(100, 2_351_972)]
    public void MobileNetV2_1x_Cifar(int classes, long expected) =>
        Assert.Equal(expected, Count("mobilenetv2", new() { Classes = classes, Input = InputKind.Cifar }));

    [Theory]
    [InlineData(0.5, 665_942)]
    [InlineData(0.7, 1_178_940)]
    public void Igcv3D_Cifar10_WidthMultiplier_OfficialArithmetic(double multiplier, long expected) =>
        Assert.Equal(expected, Count("igcv3-d", new() { Classes = 10, WidthMultiplier = multiplier, Arithmetic = WidthArithmetic.Official }));

    [Fact]
    public void ResNetIgcImageNetD18_L100_SecondaryGroups1()
    {
        var net = NetworkRegistry.Create("resnet-igc-imagenet-d18", new() { Classes = 1000, L = 100, M = 1 });
        Assert.Equal(8_637_900, net.ParameterCount());
        long batchNorm = net.NamedParameters().Where(p => p.Name.Contains("bn.", StringComparison.Ordinal) || p.Name.Contains("bn_", StringComparison.Ordinal)).Sum(p => p.Parameter.Shape.Count);
        long bnFromLayers = AllLayers(net).OfType<BatchNorm>().Sum(b => 2L * b.Channels);
        Assert.Equal(bnFromLayers, batchNorm);
        Assert.Equal(8_607_700, net.ParameterCount() - bnFromLayers);
    }

    [Fact]
    public void PlainIgc_Depth38_L24_M2_Cifar10() =>
        Assert.Equal(317_242, Count("plain-igc", new() { Classes = 10, Depth = 38, L = 24, M = 2 }));

    [Fact]
    public void ResNetIgc_Depth20_L2_M8_Cifar10() =>
        Assert.Equal(139_098, Count("resnet-igc", new() { Classes = 10, Depth = 20, L = 2, M = 8 }));

    [Fact]
    public void ResNetDense_Depth20_Width16_Cifar10() =>
        Assert.Equal(272_474, Count("resnet", new() { Classes = 10, Depth = 20, Width = 16 }));

    /// <summary>Not in the spec's table: torchvision's resnet18 has 11,689,512 parameters.</summary>
    [Fact]
    public void ResNetDenseImageNetD18_Width64_EqualsTorchvisionResNet18() =>
        Assert.Equal(11_689_512, Count("resnet-imagenet-d18", new() { Classes = 1000, Width = 64 }));

    internal static IEnumerable<Module> AllLayers(Module m) => m.Children.SelectMany(c => AllLayers(c.Module)).Prepend(m);
}
