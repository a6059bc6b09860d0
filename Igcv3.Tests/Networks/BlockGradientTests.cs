using Igcv3.Engine;
using Igcv3.Engine.Nn;
using Igcv3.Networks;
using Igcv3.Tests.Support;
using Xunit;

namespace Igcv3.Tests.Networks;

/// <summary>End-to-end finite-difference checks (F64, GradCheck's thresholds: |a − n| ≤ 1e-6 +
/// 1e-5·|n|) of whole blocks and a whole tiny network: the input gradient and every parameter
/// gradient, through the fused permutations, batch norm in training mode, ReLU6 and the shortcut.</summary>
public class BlockGradientTests
{
    private static Tensor[] InputAndParameters(Module m, Tensor x) => [x, .. m.NamedParameters().Select(p => p.Parameter.Value)];

    [Fact]
    public void Igcv3Block_WithShortcut()
    {
        var block = new Igcv3Block(4, 12, 4, stride: 1, shortcut: true, new Igcv3BlockOptions());
        ParameterSet.Create(block, Make.Cpu, seed: 11, DType.F64);
        var x = Make.Random([2, 5, 5, 4], 12);
        GradCheck.Check("igcv3 block + shortcut", () => block.Forward(x), InputAndParameters(block, x));
    }

    [Fact]
    public void Igcv3Block_Stride2_NoShortcut_OutputPermutation_ReluEverywhere_Groups3()
    {
        var options = new Igcv3BlockOptions(G1: 3, G2: 3, OutputPermutation: true,
            Relu: ReluPlacement.AfterExpand | ReluPlacement.AfterDepthwise | ReluPlacement.AfterProject);
        var block = new Igcv3Block(6, 9, 6, stride: 2, shortcut: false, options);
        ParameterSet.Create(block, Make.Cpu, seed: 13, DType.F64);
        var x = Make.Random([3, 5, 5, 6], 14);
        GradCheck.Check("igcv3 block /2", () => block.Forward(x), InputAndParameters(block, x));
    }

    [Fact]
    public void MobileNetV2Block_WithShortcut()
    {
        var block = new MobileNetV2Block(4, 12, 4, stride: 1, shortcut: true, expand: true, InitScheme.TorchvisionFanOut);
        ParameterSet.Create(block, Make.Cpu, seed: 15, DType.F64);
        var x = Make.Random([2, 5, 5, 4], 16);
        GradCheck.Check("mobilenetv2 block", () => block.Forward(x), InputAndParameters(block, x));
    }

    [Fact]
    public void Igcv2Block_WithShortcut()
    {
        var block = new Igcv2Block(8, 8, stride: 1, shortcut: true, depth: 4, InitScheme.TorchvisionFanOut);
        ParameterSet.Create(block, Make.Cpu, seed: 17, DType.F64);
        var x = Make.Random([2, 3, 3, 8], 18);
        GradCheck.Check("igcv2 block", () => block.Forward(x), InputAndParameters(block, x));
    }

    [Fact]
    public void Igcv1ResidualBlock_WithProjection()
    {
        var net = NetworkRegistry.Create("resnet-igc", new() { Depth = 8, L = 2, M = 2, Classes = 3 });
        var stage1 = (Stage)((Sequential)net.Children.Single(c => c.Name == "stages").Module)[1];
        var block = stage1.Blocks[0];
        ParameterSet.Create(net, Make.Cpu, seed: 19, DType.F64);
        var x = Make.Random([2, 5, 5, 4], 20);
        GradCheck.Check("resnet-igc block", () => block.Forward(x), InputAndParameters(block, x));
    }

    /// <summary>The whole IGCV3-D at 0.25x, CIFAR layout and size (32x32), batch 2: every parameter
    /// tensor, with 1 sampled element each (all elements of 400-odd tensors, two forwards each, would
    /// be slow: this takes ~20 s on 2 cores), and 6 of the input's; the deepest stages run at 4x4
    /// (32 values per BN channel at batch 2). Step 1e-7 instead of 1e-6: the network has ~10⁵ ReLU6
    /// inputs, and a ±1e-6 change of a stem weight moves some of them across 0 or 6 (the analytic
    /// value matches the difference quotient at 1e-7 to 8 digits and drifts away as h grows, the
    /// signature of a kink, not of a wrong formula); round-off at 1e-7 is ~1e-16·|L|/h ≈ 1e-9.</summary>
    [Fact]
    public void WholeTinyIgcv3D()
    {
        var net = NetworkRegistry.Create("igcv3-d", new() { WidthMultiplier = 0.25, Classes = 10 });
        ParameterSet.Create(net, Make.Cpu, seed: 21, DType.F64);
        var x = Make.Random([2, 32, 32, 3], 22);
        var inputs = InputAndParameters(net, x);
        var sample = GradCheck.RandomElements(1, seed: 5);
        GradCheck.Check("igcv3-d 0.25x", () => net.Forward(x), inputs,
            sampler: (i, count) => i == 0 ? GradCheck.RandomElements(6, seed: 4)(i, count) : sample(i, count), step: 1e-7);
    }
}
