using Igcv3.Engine;
using Igcv3.Engine.Nn;

namespace Igcv3.Networks;

/// <summary>The IGCV3 block's knobs (the paper's ablations); the defaults are the released IGCV3-D.</summary>
public readonly record struct Igcv3BlockOptions(int G1 = 2, int G2 = 2, bool OutputPermutation = false,
    ReluPlacement Relu = ReluPlacement.AfterDepthwise, InitScheme Init = InitScheme.TorchvisionFanOut)
{
    public Igcv3BlockOptions() : this(2, 2, false, ReluPlacement.AfterDepthwise, InitScheme.TorchvisionFanOut) { }
}

/// <summary>
/// IGCV3 interleaved low-rank group convolution block, x [N,H,W,Cin] → [N,H/s,W/s,Cout]:
/// <code>
/// expand     1x1 conv Cin → E, G1 groups, permutation P(G1) FUSED as its output shuffle
/// expand_bn  BN (ReLU6 only in the AfterExpand ablation)
/// dw         3x3 depthwise, stride s           dw_bn      BN → ReLU6
/// project    1x1 conv E → Cout, G2 groups (optional output permutation P(Cout/G2), fused)
/// project_bn BN (no activation)                + x when the block has a shortcut
/// </code>
/// The released model applies BN and THEN the permutation. A permutation commutes with any
/// per-channel op, so P·BN(z) = BN'(P·z) where BN' is the same BN with its per-channel parameters
/// and statistics indexed by the permuted channel: fusing P into the convolution and letting BN
/// run on the permuted channels is the same function family (one relabelling of BN's
/// parameters), at no memory pass. Loading official weights must permute the expand BN's
/// parameters accordingly.
/// </summary>
public sealed class Igcv3Block : Module
{
    public Igcv3Block(int inChannels, int expanded, int outChannels, int stride, bool shortcut, Igcv3BlockOptions options)
    {
        if (shortcut && (stride != 1 || inChannels != outChannels))
        {
            throw new ArgumentException($"igcv3 block: a shortcut needs stride 1 and equal widths, got stride {stride}, {inChannels} → {outChannels}");
        }
        HasShortcut = shortcut;
        var o = options;
        int outShuffle = o.OutputPermutation && o.G2 > 1 ? outChannels / Math.Max(1, o.G2) : 0;
        Expand = Add("expand", Build.Named("expand", () => new PointwiseConv(inChannels, expanded, o.G1, outputShuffle: o.G1 > 1 ? o.G1 : 0,
            init: Inits.Conv(o.Init, expanded, 1, inChannels / Math.Max(1, o.G1)))));
        ExpandBn = Add("expand_bn", new BatchNorm(expanded, Act(o.Relu, ReluPlacement.AfterExpand)));
        Depthwise = Add("dw", Build.Named("dw", () => new DepthwiseConv3x3(expanded, stride, Inits.Conv(o.Init, expanded, 3, 1))));
        DepthwiseBn = Add("dw_bn", new BatchNorm(expanded, Act(o.Relu, ReluPlacement.AfterDepthwise)));
        Project = Add("project", Build.Named("project", () => new PointwiseConv(expanded, outChannels, o.G2, outputShuffle: outShuffle,
            init: Inits.Conv(o.Init, outChannels, 1, expanded / Math.Max(1, o.G2)))));
        ProjectBn = Add("project_bn", new BatchNorm(outChannels, Act(o.Relu, ReluPlacement.AfterProject)));
    }

    internal static Activation Act(ReluPlacement placement, ReluPlacement here) =>
        placement.HasFlag(here) ? Activation.Relu6 : Activation.None;

    public bool HasShortcut { get; }

    public PointwiseConv Expand { get; }

    public BatchNorm ExpandBn { get; }

    public DepthwiseConv3x3 Depthwise { get; }

    public BatchNorm DepthwiseBn { get; }

    public PointwiseConv Project { get; }

    public BatchNorm ProjectBn { get; }

    public override Tensor Forward(Tensor x)
    {
        // BN.Forward(conv, h): in training the convolution computes the batch statistics of its output.
        var h = ExpandBn.Forward(Expand, x);                  // [N, H, W, E], channels interleaved by P(G1)
        h = DepthwiseBn.Forward(Depthwise, h);                // [N, H/s, W/s, E]
        return ProjectBn.Forward(Project, h, residual: HasShortcut ? x : null); // [N, H/s, W/s, Cout] (+ x, fused)
    }
}
