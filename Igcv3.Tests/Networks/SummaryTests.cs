using Igcv3.Engine;
using Igcv3.Engine.Nn;
using Igcv3.Networks;
using Igcv3.Tests.Support;
using Xunit;

namespace Igcv3.Tests.Networks;

public class SummaryTests
{
    /// <summary>x [1,5,5,3] → conv 3x3/2 pad 1 → [1,3,3,4] → BN → pointwise 4→6, 2 groups →
    /// depthwise /2 → [1,2,2,6] → pool → [1,6] → linear → [1,3].</summary>
    private static Sequential Tiny() => new(
        new Conv2d(3, 4, 3, stride: 2, padding: 1),
        new BatchNorm(4, Activation.Relu),
        new PointwiseConv(4, 6, groups: 2, outputShuffle: 2),
        new DepthwiseConv3x3(6, stride: 2),
        new GlobalAvgPool(),
        new Linear(6, 3));

    [Fact]
    public void TinyCase_MatchesHandComputedShapesParametersAndMultiplyAdds()
    {
        var s = ModelSummary.Of(Tiny(), [1, 5, 5, 3]);
        Assert.Equal(["0", "1", "2", "3", "4", "5"], s.Layers.Select(l => l.Name));
        Assert.Equal([new Shape(1, 3, 3, 4), new Shape(1, 3, 3, 4), new Shape(1, 3, 3, 6), new Shape(1, 2, 2, 6), new Shape(1, 6), new Shape(1, 3)],
            s.Layers.Select(l => l.Output));
        // conv: 4·3·3·3 weights; 3·3·4 outputs × 27 products. BN: γ, β. pointwise: 6 × 4/2 weights,
        // 3·3·6 outputs × 2. depthwise: 6·9 weights, 2·2·6 outputs × 9. linear: 6·3 + 3, 3 outputs × 6.
        Assert.Equal([108L, 8, 12, 54, 0, 21], s.Layers.Select(l => l.Parameters));
        Assert.Equal([972L, 0, 108, 216, 0, 18], s.Layers.Select(l => l.MultiplyAdds));
        Assert.Equal(203, s.TotalParameters);
        Assert.Equal(1314, s.TotalMultiplyAdds);
        Assert.Equal(new Shape(1, 3), s.Output);
    }

    [Theory]
    [MemberData(nameof(RegisteredNetworks.All), MemberType = typeof(RegisteredNetworks))]
    public void Totals_EqualParameterCount_AndRowsSumToIt(string name)
    {
        var net = NetworkRegistry.Create(name, new() { Classes = 7 });
        var s = ModelSummary.Of(net, net.InputShape(1));
        // The summary's total is the sum of its rows: equal to the network's own count only if
        // every parameter sits in a leaf layer that the forward ran exactly once.
        Assert.Equal(net.ParameterCount(), s.TotalParameters);
        Assert.Equal(s.TotalParameters, s.Layers.Sum(l => l.Parameters));
        Assert.Equal(new Shape(1, 7), s.Output);
        Assert.Equal(s.Layers.Sum(l => l.MultiplyAdds), s.TotalMultiplyAdds);
        var text = s.Format();
        Assert.Contains("classifier", text);
        Assert.Contains(s.TotalParameters.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), text);
    }

    [Fact]
    public void Names_AreHierarchical()
    {
        var net = NetworkRegistry.Create("igcv3-d", new() { WidthMultiplier = 0.25 });
        var s = ModelSummary.Of(net, net.InputShape(1));
        Assert.Equal("stem.conv", s.Layers[0].Name);
        Assert.Contains(s.Layers, l => l.Name == "stages.2.blocks.3.dw");
        Assert.Equal("classifier", s.Layers[^1].Name);
        Assert.Contains(net.NamedParameters(), p => p.Name == "stages.2.blocks.3.dw.weight");
    }

    [Fact]
    public void Summary_LeavesABoundNetworkBound_AndItStillRuns()
    {
        var net = Tiny();
        ParameterSet.Create(net, Make.Cpu, seed: 1, DType.F64);
        var before = net.NamedSlots().Select(s => s.Parameter.Value).ToList();
        ModelSummary.Of(net, [1, 5, 5, 3]);
        Assert.Equal(before, net.NamedSlots().Select(s => s.Parameter.Value));
        Assert.Equal(new Shape(2, 3), net.Forward(Make.Random([2, 5, 5, 3], 3)).Shape);
    }

    [Fact]
    public void Format_IsAligned()
    {
        var lines = ModelSummary.Of(Tiny(), [1, 5, 5, 3]).Format().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // header, rule, 6 layers, rule, total: all the same width.
        Assert.Single(lines.Take(10).Select(l => l.Length).Distinct());
    }
}
