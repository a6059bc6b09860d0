namespace Igcv3.Networks;

/// <summary>How a width multiplier m turns the tables' widths into channel counts.</summary>
public enum WidthArithmetic
{
    /// <summary>The released IGCV3 / mxnet-mobilenet-v2 code, quirks included: stem = round(32m)
    /// made even; each stage c = round(c·m) made even; the next stage's first expansion reads
    /// in_c = round(c·m) on the already scaled c (c + 1 when odd); head 1280 if m ≤ 1, else
    /// int(1280m) + 1. Rounding half away from zero, as Python 2's round.</summary>
    Official,

    /// <summary>Every width round(c·m) to the nearest multiple of the family's quantum (the lcm of
    /// the IGCV3 group counts; 8 for MobileNetV2 and IGCV2), at least one quantum; expansions read
    /// the real input width; head 1280 if m ≤ 1, else round(1280m) to the quantum.</summary>
    Clean,
}

/// <summary>Where IGCV3-D blocks put ReLU6 (the paper's ablation). The released model has it
/// after the depthwise convolution only. A ReLU after the last convolution sits before the
/// residual add.</summary>
[Flags]
public enum ReluPlacement
{
    None = 0,
    AfterExpand = 1,
    AfterDepthwise = 2,
    AfterProject = 4,
}

/// <summary>
/// Every knob of every registered network; each builder reads the ones that apply to it and
/// rejects impossible values with the network's name and the numbers. Defaults reproduce the
/// released models.
/// </summary>
public sealed record NetworkOptions
{
    public int Classes { get; init; } = 10;

    public InputKind Input { get; init; } = InputKind.Cifar;

    // ---- IGCV3-D, MobileNetV2, IGCV2 -------------------------------------------------------

    public double WidthMultiplier { get; init; } = 1.0;

    public WidthArithmetic Arithmetic { get; init; } = WidthArithmetic.Official;

    /// <summary>IGCV3: groups of the first (expanding) 1x1 convolution; the permutation after it
    /// interleaves with the same count.</summary>
    public int G1 { get; init; } = 2;

    /// <summary>IGCV3: groups of the second (projecting) 1x1 convolution.</summary>
    public int G2 { get; init; } = 2;

    /// <summary>IGCV3: the permutation after the second group convolution (G = Cout/G2, which
    /// undoes the interleave of G2 groups; in the authors' code but not in the released model).</summary>
    public bool OutputPermutation { get; init; }

    public ReluPlacement Relu { get; init; } = ReluPlacement.AfterDepthwise;

    /// <summary>MobileNetV2: keep the 1x1 expansion in t = 1 blocks (the paper's table); off as
    /// torchvision and the 3,504,872-parameter count.</summary>
    public bool ExpandWhenT1 { get; init; }

    /// <summary>IGCV2: L, the number of convolutions in a block's sparse kernel: one depthwise
    /// 3x3 and L − 1 group 1x1 convolutions.</summary>
    public int IgcV2Depth { get; init; } = 3;

    // ---- IGCV1 and dense baselines ---------------------------------------------------------

    /// <summary>Network depth (plain: 3k + 2; CIFAR ResNets: 6k + 2).</summary>
    public int Depth { get; init; } = 20;

    /// <summary>IGCV1 primary group count.</summary>
    public int L { get; init; } = 2;

    /// <summary>IGCV1 secondary group count (channels per primary group); the base width is L·M.</summary>
    public int M { get; init; } = 8;

    /// <summary>Dense baselines: width of the first stage (16 for ResNet-20, 64 for ResNet-18).</summary>
    public int? Width { get; init; }

    /// <summary>Overrides the family's initialisation recipe.</summary>
    public InitScheme? Init { get; init; }
}
