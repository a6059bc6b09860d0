using Igcv3.Engine;
using Igcv3.Engine.Nn;

namespace Igcv3.Networks;

/// <summary>One unit of an IGCV1-family stage: widths, stride, and the group counts of an IGC
/// unit (both 1 for a dense 3x3 conv).</summary>
public readonly record struct UnitPlan(int In, int Out, int Stride, int Primary, int Secondary, bool Igc);

/// <summary>
/// IGCV1 networks (hellozting/InterleavedGroupConvolutions) and their dense baselines, as stage
/// plans plus one builder loop per family: plain (a chain of units) and ResNet (pairs of units
/// with shortcuts). BN eps 2e-5; BN momentum as the MXNet code (0.99 in the plain nets, 0.9 in
/// the ResNets, i.e. PyTorch momentum 0.01 and 0.1). He-normal fan-in initialisation (MSRAPrelu).
/// </summary>
public static class Igcv1Networks
{
    private const double Epsilon = 2e-5;

    /// <summary>plain_igc(depth, L, M): stem 3x3 → LM; 3 stages of (depth−2)/3 units at widths
    /// LM, 2LM, 4LM, secondary groups M, 2M, 4M, stride 2 entering stages 2 and 3; 8x8 pool; FC.</summary>
    public static Network PlainIgc(NetworkOptions o)
    {
        const string name = "plain-igc";
        int units = PlainUnits(name, o.Depth);
        CheckLm(name, o);
        int c = o.L * o.M;
        return Plain(name, o, c, s => new UnitPlan(0, c << s, 0, o.L, o.M << s, Igc: true), units);
    }

    /// <summary>Dense plain baseline: the plain_igc shape with dense 3x3 convs, widths W, 2W, 4W.</summary>
    public static Network PlainDense(NetworkOptions o)
    {
        const string name = "plain";
        int units = PlainUnits(name, o.Depth);
        int c = o.Width ?? 16;
        CheckPositive(name, "width", c);
        return Plain(name, o, c, s => new UnitPlan(0, c << s, 0, 1, 1, Igc: false), units);
    }

    /// <summary>resnet_igc(depth, L, M): 3 stages of (depth−2)/6 blocks at widths LM, 2LM, 4LM;
    /// primary groups L throughout, the first unit's secondary groups Cin/L, the second's Cout/L;
    /// projection shortcut 1x1 with L groups, stride 2.</summary>
    public static Network ResNetIgc(NetworkOptions o)
    {
        const string name = "resnet-igc";
        int blocks = ResNetBlocks(name, o.Depth);
        CheckLm(name, o);
        int c = o.L * o.M;
        var stages = Enumerable.Range(0, 3).Select(s => (Width: c << s, Blocks: blocks, Stride: s == 0 ? 1 : 2, Primary: o.L)).ToList();
        return ResNet(name, o, Stem.Cifar(c), stages, igc: true, secondaryFirst: (cin, cout, l) => cin / l);
    }

    /// <summary>Dense ResNet baseline on CIFAR (ResNet-20 at depth 20, width 16).</summary>
    public static Network ResNetDense(NetworkOptions o)
    {
        const string name = "resnet";
        int blocks = ResNetBlocks(name, o.Depth);
        int c = o.Width ?? 16;
        CheckPositive(name, "width", c);
        var stages = Enumerable.Range(0, 3).Select(s => (Width: c << s, Blocks: blocks, Stride: s == 0 ? 1 : 2, Primary: 1)).ToList();
        return ResNet(name, o, Stem.Cifar(c), stages, igc: false, secondaryFirst: (_, _, _) => 1);
    }

    /// <summary>resnet_igc_imgnet_d18(L, M): C = LM; stem 7x7/2 → C, 3x3/2 max pool; 4 stages of 2
    /// blocks at widths 2C, 4C, 8C, 16C with primary groups L, 2L, 4L, 8L and secondary groups
    /// width/primary; projection shortcut 1x1 with the primary groups; global pool (7x7); FC.</summary>
    public static Network ResNetIgcImageNetD18(NetworkOptions o)
    {
        const string name = "resnet-igc-imagenet-d18";
        CheckLm(name, o);
        int c = o.L * o.M;
        var stages = Enumerable.Range(0, 4).Select(s => (Width: (2 * c) << s, Blocks: 2, Stride: s == 0 ? 1 : 2, Primary: o.L << s)).ToList();
        return ResNet(name, o with { Input = InputKind.ImageNet }, Stem.ImageNet(c), stages, igc: true, secondaryFirst: (_, cout, l) => cout / l);
    }

    /// <summary>Dense ResNet-18 on ImageNet (torchvision's resnet18 at width 64): widths W, 2W, 4W, 8W.</summary>
    public static Network ResNetDenseImageNetD18(NetworkOptions o)
    {
        const string name = "resnet-imagenet-d18";
        int c = o.Width ?? 64;
        CheckPositive(name, "width", c);
        var stages = Enumerable.Range(0, 4).Select(s => (Width: c << s, Blocks: 2, Stride: s == 0 ? 1 : 2, Primary: 1)).ToList();
        return ResNet(name, o with { Input = InputKind.ImageNet }, Stem.ImageNet(c), stages, igc: false, secondaryFirst: (_, _, _) => 1);
    }

    // ---- the two builder loops -----------------------------------------------------------------

    private static Network Plain(string name, NetworkOptions o, int c, Func<int, UnitPlan> stage, int units)
    {
        CheckClasses(name, o);
        var init = o.Init ?? InitScheme.MsraFanIn;
        const double momentum = 0.01;
        var stem = Stem.Cifar(c).Create(name, init, momentum);
        var stages = new Sequential();
        int cin = c;
        for (int s = 0; s < 3; s++)
        {
            var row = stage(s);
            var blocks = new List<Module>();
            for (int i = 0; i < units; i++)
            {
                var u = row with { In = cin, Stride = cin == row.Out ? 1 : 2 };
                blocks.Add(InvertedResidualNetworks.Named(name, $"stages.{s}.blocks.{i}", () => Unit(u, Activation.Relu, momentum, init)));
                cin = row.Out;
            }
            stages.Append(new Stage(blocks));
        }
        return Head(name, o, stem, stages, cin, init);
    }

    private static Network ResNet(string name, NetworkOptions o, Stem stemSpec, List<(int Width, int Blocks, int Stride, int Primary)> table,
        bool igc, Func<int, int, int, int> secondaryFirst)
    {
        CheckClasses(name, o);
        var init = o.Init ?? InitScheme.MsraFanIn;
        const double momentum = 0.1;
        var stem = stemSpec.Create(name, init, momentum);
        var stages = new Sequential();
        int cin = stemSpec.Width;
        for (int s = 0; s < table.Count; s++)
        {
            var (width, count, stride, primary) = table[s];
            var blocks = new List<Module>();
            for (int i = 0; i < count; i++)
            {
                int inC = cin, st = i == 0 ? stride : 1;
                blocks.Add(InvertedResidualNetworks.Named(name, $"stages.{s}.blocks.{i}", () =>
                {
                    // IGCV1: the first unit's secondary groups come from secondaryFirst(Cin, Cout, L), the
                    // second's are Cout/L (resnet_igc: Cin/L then Cout/L; d18: Cout/L for both).
                    var first = new UnitPlan(inC, width, st, igc ? primary : 1, igc ? secondaryFirst(inC, width, primary) : 1, igc);
                    var second = new UnitPlan(width, width, 1, igc ? primary : 1, igc ? width / primary : 1, igc);
                    Module? shortcut = inC == width && st == 1 ? null : Build.Named("shortcut", () =>
                        new ConvBn(new Conv2d(inC, width, 1, st, 0, igc ? primary : 1, Inits.Conv(init, width, 1, inC / (igc ? primary : 1))),
                            Activation.None, Epsilon, momentum));
                    return new ResidualBlock(Build.Named("first", () => Unit(first, Activation.Relu, momentum, init)),
                        Build.Named("second", () => Unit(second, Activation.None, momentum, init)), shortcut);
                }));
                cin = width;
            }
            stages.Append(new Stage(blocks));
        }
        return Head(name, o, stem, stages, cin, init);
    }

    private static Module Unit(UnitPlan u, Activation activation, double momentum, InitScheme init)
    {
        if (u.Igc) return new IgcUnit(u.In, u.Out, u.Stride, u.Primary, u.Secondary, activation, Epsilon, momentum, init);
        return new ConvBn(new Conv2d(u.In, u.Out, 3, u.Stride, 1, init: Inits.Conv(init, u.Out, 3, u.In)), activation, Epsilon, momentum);
    }

    private static Network Head(string name, NetworkOptions o, Module stem, Sequential stages, int width, InitScheme init) =>
        new(name, o.Input, o.Classes,
            [("stem", stem), ("stages", stages), ("pool", new GlobalAvgPool()),
             ("classifier", new Linear(width, o.Classes, weightInit: Inits.Linear(init, width)))]);

    /// <summary>CIFAR stem: 3x3 conv → BN → ReLU. ImageNet stem: 7x7/2 conv → BN → ReLU → 3x3/2 max pool.</summary>
    private sealed record Stem(int Width, bool IsImageNet)
    {
        public static Stem Cifar(int width) => new(width, false);

        public static Stem ImageNet(int width) => new(width, true);

        public Module Create(string name, InitScheme init, double momentum)
        {
            int k = IsImageNet ? 7 : 3;
            return InvertedResidualNetworks.Named(name, "stem", () => new ConvBn(
                new Conv2d(3, Width, k, IsImageNet ? 2 : 1, k / 2, init: Inits.Conv(init, Width, k, 3)), Activation.Relu, Epsilon, momentum,
                pool: IsImageNet ? new MaxPool(3, 2, 1) : null));
        }
    }

    private static int PlainUnits(string name, int depth)
    {
        if (depth < 5 || (depth - 2) % 3 != 0) throw new ArgumentException($"{name}: depth must be 3k + 2 with k ≥ 1 (units per stage (depth − 2)/3), got {depth}");
        return (depth - 2) / 3;
    }

    private static int ResNetBlocks(string name, int depth)
    {
        if (depth < 8 || (depth - 2) % 6 != 0) throw new ArgumentException($"{name}: depth must be 6k + 2 with k ≥ 1 (blocks per stage (depth − 2)/6), got {depth}");
        return (depth - 2) / 6;
    }

    private static void CheckLm(string name, NetworkOptions o)
    {
        CheckPositive(name, "L (primary groups)", o.L);
        CheckPositive(name, "M (secondary groups)", o.M);
    }

    private static void CheckPositive(string name, string what, int value)
    {
        if (value <= 0) throw new ArgumentException($"{name}: {what} must be positive, got {value}");
    }

    private static void CheckClasses(string name, NetworkOptions o) => CheckPositive(name, "classes", o.Classes);
}
