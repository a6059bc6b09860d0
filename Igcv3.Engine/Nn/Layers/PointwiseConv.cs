namespace Igcv3.Engine.Nn;

/// <summary>y = P(Gout) · conv1x1_groups(P(Gin) · x): grouped 1x1 convolution with the IGC
/// permutations fused into its indexing (no pass over memory for them). x [N,H,W,Cin],
/// weight [Cout, Cin/groups] → y [N,H,W,Cout].</summary>
public sealed class PointwiseConv : Layer, IBatchStatisticsProducer
{
    public PointwiseConv(int inChannels, int outChannels, int groups = 1, int inputShuffle = 0, int outputShuffle = 0, Init? init = null)
    {
        LayerChecks.Channels("pointwise", inChannels, outChannels, groups);
        if (inputShuffle > 1 && inChannels % inputShuffle != 0) throw new ArgumentException($"pointwise: input shuffle groups {inputShuffle} must divide input channels {inChannels}");
        if (outputShuffle > 1 && outChannels % outputShuffle != 0) throw new ArgumentException($"pointwise: output shuffle groups {outputShuffle} must divide output channels {outChannels}");
        InChannels = inChannels;
        OutChannels = outChannels;
        Spec = new PointwiseSpec(groups, inputShuffle, outputShuffle);
        // Default: He normal over fan-out = Cout (1x1 kernel), as torchvision.
        Weight = AddParameter("weight", [outChannels, inChannels / groups], init ?? Init.KaimingNormal(outChannels));
    }

    public int InChannels { get; }

    public int OutChannels { get; }

    public PointwiseSpec Spec { get; }

    public Parameter Weight { get; }

    protected override Tensor Compute(Tensor x) => Ops.Pointwise(x, Weight.Value, Spec);

    public Tensor Forward(Tensor x, BatchStatistics? statistics) => Recorded(x, Ops.Pointwise(x, Weight.Value, Spec, statistics));

    public override long MultiplyAdds(Shape input, Shape output) => output.Count * (InChannels / Spec.Groups);
}
