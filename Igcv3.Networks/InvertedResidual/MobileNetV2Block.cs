using Igcv3.Engine;
using Igcv3.Engine.Nn;

namespace Igcv3.Networks;

/// <summary>
/// MobileNetV2 inverted residual, x [N,H,W,Cin] → [N,H/s,W/s,Cout]:
/// expand (dense 1x1 Cin → E) → expand_bn → ReLU6 (absent when <paramref name="expand"/> is false,
/// torchvision's t = 1 blocks, and then E = Cin) → dw 3x3 stride s → dw_bn → ReLU6 →
/// project (dense 1x1 E → Cout) → project_bn (linear) → + x when the block has a shortcut.
/// </summary>
public sealed class MobileNetV2Block : Module
{
    public MobileNetV2Block(int inChannels, int expanded, int outChannels, int stride, bool shortcut, bool expand, InitScheme init)
    {
        if (shortcut && (stride != 1 || inChannels != outChannels))
        {
            throw new ArgumentException($"mobilenetv2 block: a shortcut needs stride 1 and equal widths, got stride {stride}, {inChannels} → {outChannels}");
        }
        HasShortcut = shortcut;
        int hidden = expand ? expanded : inChannels;
        if (expand)
        {
            Expand = Add("expand", Build.Named("expand", () => new PointwiseConv(inChannels, hidden, init: Inits.Conv(init, hidden, 1, inChannels))));
            ExpandBn = Add("expand_bn", new BatchNorm(hidden, Activation.Relu6));
        }
        Depthwise = Add("dw", Build.Named("dw", () => new DepthwiseConv3x3(hidden, stride, Inits.Conv(init, hidden, 3, 1))));
        DepthwiseBn = Add("dw_bn", new BatchNorm(hidden, Activation.Relu6));
        Project = Add("project", Build.Named("project", () => new PointwiseConv(hidden, outChannels, init: Inits.Conv(init, outChannels, 1, hidden))));
        ProjectBn = Add("project_bn", new BatchNorm(outChannels));
    }

    public bool HasShortcut { get; }

    public PointwiseConv? Expand { get; }

    public BatchNorm? ExpandBn { get; }

    public DepthwiseConv3x3 Depthwise { get; }

    public BatchNorm DepthwiseBn { get; }

    public PointwiseConv Project { get; }

    public BatchNorm ProjectBn { get; }

    public override Tensor Forward(Tensor x)
    {
        // BN.Forward(conv, h): in training the convolution computes the batch statistics of its output.
        var h = Expand is null ? x : ExpandBn!.Forward(Expand, x);          // [N, H, W, E]
        h = DepthwiseBn.Forward(Depthwise, h);                               // [N, H/s, W/s, E]
        return ProjectBn.Forward(Project, h, residual: HasShortcut ? x : null); // [N, H/s, W/s, Cout] (+ x, fused)
    }
}
