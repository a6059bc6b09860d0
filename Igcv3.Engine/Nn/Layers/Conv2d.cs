namespace Igcv3.Engine.Nn;

/// <summary>y = conv(x, w): general 2-D convolution without bias (stem, IGCV1 primary group
/// convs, dense baselines). x [N,H,W,Cin], weight OHWI [Cout, K, K, Cin/groups] → y [N,Ho,Wo,Cout].</summary>
public sealed class Conv2d : Layer
{
    public Conv2d(int inChannels, int outChannels, int kernel, int stride = 1, int padding = 0, int groups = 1, Init? init = null)
    {
        LayerChecks.Channels("conv2d", inChannels, outChannels, groups);
        if (kernel <= 0 || stride <= 0 || padding < 0) throw new ArgumentException($"conv2d: kernel {kernel} and stride {stride} must be positive and padding {padding} ≥ 0");
        InChannels = inChannels;
        OutChannels = outChannels;
        Spec = new Conv2dSpec(kernel, stride, padding, groups);
        // Default: He normal over fan-out = Cout·K·K, torchvision's kaiming_normal_(mode="fan_out").
        Weight = AddParameter("weight", [outChannels, kernel, kernel, inChannels / groups], init ?? Init.KaimingNormal(outChannels * kernel * kernel));
    }

    public int InChannels { get; }

    public int OutChannels { get; }

    public Conv2dSpec Spec { get; }

    public Parameter Weight { get; }

    protected override Tensor Compute(Tensor x) => Ops.Conv2d(x, Weight.Value, Spec);

    // Every output element [N,Ho,Wo,Cout] takes K·K·Cin/groups products.
    public override long MultiplyAdds(Shape input, Shape output) =>
        output.Count * Spec.Kernel * Spec.Kernel * (InChannels / Spec.Groups);
}
