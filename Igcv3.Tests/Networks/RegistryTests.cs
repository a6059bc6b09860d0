using Igcv3.Networks;
using Xunit;

namespace Igcv3.Tests.Networks;

public class RegistryTests
{
    [Fact]
    public void EveryRegisteredName_Builds()
    {
        foreach (var name in NetworkRegistry.Names)
        {
            var net = NetworkRegistry.Create(name, new() { Classes = 5, WidthMultiplier = 0.25, Depth = 8, L = 2, M = 2, Width = 4 });
            Assert.Equal(name, net.Name);
            Assert.True(net.ParameterCount() > 0);
        }
    }

    [Fact]
    public void UnknownName_ListsTheKnownOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => NetworkRegistry.Create("igcv4"));
        Assert.Contains("igcv4", e.Message);
        Assert.Contains("igcv3-d", e.Message);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    public void NonPositiveMultiplier_Throws(double m)
    {
        var e = Assert.Throws<ArgumentException>(() => NetworkRegistry.Create("igcv3-d", new() { WidthMultiplier = m }));
        Assert.Contains("multiplier", e.Message);
    }

    [Fact]
    public void GroupsThatDoNotDivide_NameTheLayerAndNumbers()
    {
        // G1 = 3 cannot split the 32-channel stem output.
        var e = Assert.Throws<ArgumentException>(() => NetworkRegistry.Create("igcv3-d", new() { G1 = 3 }));
        Assert.Contains("igcv3-d: stages.0.blocks.0: expand: pointwise: groups 3 must divide input channels 32", e.Message);
    }

    [Fact]
    public void Igcv1_BadDepth_AndBadGroups_Throw()
    {
        Assert.Contains("6k + 2", Assert.Throws<ArgumentException>(() => NetworkRegistry.Create("resnet-igc", new() { Depth = 21 })).Message);
        Assert.Contains("3k + 2", Assert.Throws<ArgumentException>(() => NetworkRegistry.Create("plain-igc", new() { Depth = 21 })).Message);
        Assert.Contains("L (primary groups) must be positive", Assert.Throws<ArgumentException>(() => NetworkRegistry.Create("plain-igc", new() { L = 0 })).Message);
        Assert.Contains("classes", Assert.Throws<ArgumentException>(() => NetworkRegistry.Create("mobilenetv2", new() { Classes = 0 })).Message);
    }

    [Fact]
    public void Igcv2_ImpossibleFactorisation_SaysWhichBlock()
    {
        // L = 1 would leave only the depthwise conv: no channel mixing at all.
        var e = Assert.Throws<ArgumentException>(() => NetworkRegistry.Create("igcv2", new() { IgcV2Depth = 1 }));
        Assert.Contains("igcv2: stages.0.blocks.0: igcv2 block: L must be ≥ 2", e.Message);
    }

    [Fact]
    public void OfficialWidthPlan_ReproducesTheReleasedQuirk()
    {
        // 0.5x: stage c = 8, 12, 16, 32, 48, 80, 160. After stage 0 (c = 8), in_c = round(8·0.5) = 4,
        // so stage 1's first expansion is 4·6 = 24 while 8 channels really flow in.
        var plan = WidthPlan.Compute(StageTables.Igcv3D, 0.5, WidthArithmetic.Official, 2);
        Assert.Equal(16, plan.Stem);
        var first = plan.Blocks.First(b => b.Stage == 1);
        Assert.Equal((8, 24, 12), (first.In, first.Expanded, first.Out));
        // After stage 1 (c = 12): in_c = round(6) = 6 → stage 2 expands to 36 from 12 real channels.
        var second = plan.Blocks.First(b => b.Stage == 2);
        Assert.Equal((12, 36, 16), (second.In, second.Expanded, second.Out));
        Assert.Equal(1280, plan.Head);
        Assert.Equal(1601, WidthPlan.Compute(StageTables.Igcv3D, 1.25, WidthArithmetic.Official, 2).Head);
    }

    [Fact]
    public void CleanWidthPlan_UsesTheRealInputWidth()
    {
        var plan = WidthPlan.Compute(StageTables.Igcv3D, 0.5, WidthArithmetic.Clean, 2);
        var first = plan.Blocks.First(b => b.Stage == 1);
        Assert.Equal((8, 48, 12), (first.In, first.Expanded, first.Out));
        Assert.Equal(1600, WidthPlan.Compute(StageTables.Igcv3D, 1.25, WidthArithmetic.Clean, 2).Head);
    }
}
