using Igcv3.Engine;
using Igcv3.Engine.Nn;

namespace Igcv3.Networks;

/// <summary>
/// The MobileNetV2 backbone family — IGCV3-D, MobileNetV2 and (our) IGCV2 — built by ONE loop
/// over a stage table: stem 3x3 conv 3 → S (stride 2 on ImageNet, 1 on CIFAR) → BN → ReLU6;
/// the blocks of <see cref="WidthPlan"/>; head 1x1 conv → 1280 → BN → ReLU6; global average pool;
/// classifier (with bias). The families differ only in the block each plan row becomes.
/// CIFAR: the paper's CIFAR figures (2.4M IGCV3-D, 2.3M MobileNetV2; 1.2M / 1.7M at 0.5x / 0.7x)
/// come from an unpublished network and are not reproduced; this is the public port's layout.
/// </summary>
public static class InvertedResidualNetworks
{
    public static Network Igcv3D(NetworkOptions o)
    {
        var init = o.Init ?? InitScheme.TorchvisionFanOut;
        var block = new Igcv3BlockOptions(o.G1, o.G2, o.OutputPermutation, o.Relu, init);
        if (o.G1 <= 0 || o.G2 <= 0) throw new ArgumentException($"igcv3-d: G1 and G2 must be positive, got G1 {o.G1}, G2 {o.G2}");
        return Build("igcv3-d", StageTables.Igcv3D, o, quantum: Networks.Build.Lcm(o.G1, o.G2), init,
            p => new Igcv3Block(p.In, p.Expanded, p.Out, p.Stride, p.Shortcut, block));
    }

    public static Network MobileNetV2(NetworkOptions o)
    {
        var init = o.Init ?? InitScheme.TorchvisionFanOut;
        return Build("mobilenetv2", StageTables.MobileNetV2, o, quantum: 8, init,
            p => new MobileNetV2Block(p.In, p.Expanded, p.Out, p.Stride, p.Shortcut, expand: p.T != 1 || o.ExpandWhenT1, init));
    }

    public static Network Igcv2(NetworkOptions o)
    {
        var init = o.Init ?? InitScheme.TorchvisionFanOut;
        return Build("igcv2", StageTables.MobileNetV2, o, quantum: 8, init,
            p => new Igcv2Block(p.In, p.Out, p.Stride, p.Shortcut, o.IgcV2Depth, init));
    }

    /// <summary>The one builder loop.</summary>
    private static Network Build(string name, IReadOnlyList<StageRow> table, NetworkOptions o, int quantum, InitScheme init, Func<BlockPlan, Module> block)
    {
        if (o.Classes <= 0) throw new ArgumentException($"{name}: classes must be positive, got {o.Classes}");
        if (!(o.WidthMultiplier > 0) || double.IsInfinity(o.WidthMultiplier)) throw new ArgumentException($"{name}: width multiplier must be positive, got {o.WidthMultiplier}");
        bool cifar = o.Input == InputKind.Cifar;
        var plan = WidthPlan.Compute(cifar ? StageTables.ForCifar(table) : table, o.WidthMultiplier, o.Arithmetic, quantum);

        var stem = Named(name, "stem", () => new ConvBn(new Conv2d(3, plan.Stem, 3, stride: cifar ? 1 : 2, padding: 1,
            init: Inits.Conv(init, plan.Stem, 3, 3)), Activation.Relu6));
        var stages = new Sequential();
        foreach (var group in plan.Blocks.GroupBy(b => b.Stage))
        {
            stages.Append(new Stage(group.Select(p => Named(name, $"stages.{p.Stage}.blocks.{p.Index}", () => block(p))).ToList()));
        }
        int last = plan.Blocks[^1].Out;
        var head = new ConvBn(new Conv2d(last, plan.Head, 1, init: Inits.Conv(init, plan.Head, 1, last)), Activation.Relu6);
        var classifier = new Linear(plan.Head, o.Classes, weightInit: Inits.Linear(init, plan.Head));
        return new Network(name, o.Input, o.Classes,
            [("stem", stem), ("stages", stages), ("head", head), ("pool", new GlobalAvgPool()), ("classifier", classifier)]);
    }

    internal static T Named<T>(string network, string path, Func<T> create)
    {
        try
        {
            return create();
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{network}: {path}: {e.Message}", e);
        }
    }
}
