namespace Igcv3.Engine.Nn;

/// <summary>y[c] = w[c] ⋆ x[c]: depthwise 3x3 convolution, pad 1, stride 1 or 2, no bias.
/// x [N,H,W,C], weight [C,3,3] → y [N,Ho,Wo,C].</summary>
public sealed class DepthwiseConv3x3 : Layer, IBatchStatisticsProducer
{
    public DepthwiseConv3x3(int channels, int stride = 1, Init? init = null)
    {
        if (channels <= 0) throw new ArgumentException($"depthwise3x3: channels must be positive, got {channels}");
        if (stride is not (1 or 2)) throw new ArgumentException($"depthwise3x3: stride must be 1 or 2, got {stride}");
        Channels = channels;
        Stride = stride;
        // Default: He normal over PyTorch's fan-out of a [C,1,3,3] weight, C·9.
        Weight = AddParameter("weight", [channels, 3, 3], init ?? Init.KaimingNormal(channels * 9));
    }

    public int Channels { get; }

    public int Stride { get; }

    public Parameter Weight { get; }

    protected override Tensor Compute(Tensor x) => Ops.Depthwise3x3(x, Weight.Value, Stride);

    public Tensor Forward(Tensor x, BatchStatistics? statistics) => Recorded(x, Ops.Depthwise3x3(x, Weight.Value, Stride, statistics));

    public override long MultiplyAdds(Shape input, Shape output) => output.Count * 9;
}
