using Igcv3.Engine;
using Igcv3.Engine.Nn;
using Igcv3.Networks;
using Igcv3.Tests.Support;
using Igcv3.Train.Settings;
using Igcv3.Train.Training;
using Xunit;

namespace Igcv3.Tests.Train;

public class ModelBuilderTests
{
    [Theory]
    [InlineData("depthwise", ReluPlacement.AfterDepthwise)]
    [InlineData("none", ReluPlacement.None)]
    [InlineData("expand, project", ReluPlacement.AfterExpand | ReluPlacement.AfterProject)]
    [InlineData("expand,depthwise,project", ReluPlacement.AfterExpand | ReluPlacement.AfterDepthwise | ReluPlacement.AfterProject)]
    public void ReluOption_ParsesToThePlacementFlags(string relu, ReluPlacement expected) =>
        Assert.Equal(expected, SettingsValidation.ReluPlacementOf(relu));

    [Fact]
    public void ReluOption_ReachesTheNetwork()
    {
        // Same seed and input; only the ReLU placement differs, so the outputs must differ.
        var x = Make.Random([2, 32, 32, 3], 1, DType.F32);
        float[] Output(string relu)
        {
            var net = ModelBuilder.Network(new RunSettings { WidthMultiplier = 0.25, Relu = relu }, classes: 10);
            ParameterSet.Create(net, Make.Cpu, seed: 3);
            net.Eval();
            return net.Forward(x).ToFloatArray();
        }
        Assert.Equal(Output("depthwise"), Output("depthwise"));
        Assert.NotEqual(Output("depthwise"), Output("expand,depthwise,project"));
    }

    [Fact]
    public void NetworkLabel_NamesTheKnobsThatSizeEachFamily()
    {
        Assert.Equal("igcv3-d 0.5x", new RunSettings { Network = "igcv3-d", WidthMultiplier = 0.5 }.NetworkLabel);
        Assert.Equal("mobilenetv2 1.0x", new RunSettings { Network = "mobilenetv2" }.NetworkLabel);
        Assert.Equal("resnet-igc depth 20 L=2 M=8", new RunSettings { Network = "resnet-igc", Depth = 20, L = 2, M = 8 }.NetworkLabel);
        Assert.Equal("resnet depth 8 width 8", new RunSettings { Network = "resnet", Depth = 8, Width = 8 }.NetworkLabel);
        Assert.Equal("resnet depth 20", new RunSettings { Network = "resnet", Depth = 20 }.NetworkLabel);
    }
}
