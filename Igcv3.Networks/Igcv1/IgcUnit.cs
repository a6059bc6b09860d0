using Igcv3.Engine;
using Igcv3.Engine.Nn;

namespace Igcv3.Networks;

/// <summary>
/// IGCV1 interleaved group convolution unit, x [N,H,W,Cin] → [N,H/s,W/s,Cout]:
/// primary 3x3 conv Cin → Cout with L groups → P(L) → secondary 1x1 conv with M' groups → P(M')
/// → BN (→ ReLU). No BN or ReLU between the two group convs. Both permutations are fused into
/// the secondary 1x1 conv as its input and output shuffles; P(M') is the inverse of P(L) when
/// Cout = L·M', so channels leave in the primary convolution's order, as in the MXNet code.
/// </summary>
public sealed class IgcUnit : Module
{
    public IgcUnit(int inChannels, int outChannels, int stride, int primaryGroups, int secondaryGroups, Activation activation,
        double epsilon, double momentum, InitScheme init)
    {
        int l = primaryGroups, m = secondaryGroups;
        Primary = Add("primary", Build.Named("primary", () => new Conv2d(inChannels, outChannels, 3, stride, 1, l,
            Inits.Conv(init, outChannels, 3, inChannels / Math.Max(1, l)))));
        Secondary = Add("secondary", Build.Named("secondary", () => new PointwiseConv(outChannels, outChannels, m,
            inputShuffle: l > 1 ? l : 0, outputShuffle: m > 1 ? m : 0, init: Inits.Conv(init, outChannels, 1, outChannels / Math.Max(1, m)))));
        Bn = Add("bn", new BatchNorm(outChannels, activation, epsilon, momentum));
    }

    public Conv2d Primary { get; }

    public PointwiseConv Secondary { get; }

    public BatchNorm Bn { get; }

    public override Tensor Forward(Tensor x) => Bn.Forward(Secondary, Primary.Forward(x)); // Secondary computes the BN's batch statistics
}
