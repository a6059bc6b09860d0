namespace Igcv3.Engine.Nn;

/// <summary>y = x·Wᵀ + b. x [N, In], weight [Out, In], bias [Out] (exempt from weight decay)
/// → y [N, Out].</summary>
public sealed class Linear : Layer
{
    public Linear(int inFeatures, int outFeatures, bool bias = true, Init? weightInit = null)
    {
        if (inFeatures <= 0 || outFeatures <= 0) throw new ArgumentException($"linear: features must be positive, got in {inFeatures}, out {outFeatures}");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        // Default: normal(0, 0.01), bias 0, as torchvision's MobileNetV2 classifier.
        Weight = AddParameter("weight", [outFeatures, inFeatures], weightInit ?? Init.Normal(0.01));
        Bias = bias ? AddParameter("bias", [outFeatures], Init.Zeros, decay: false) : null;
    }

    public int InFeatures { get; }

    public int OutFeatures { get; }

    public Parameter Weight { get; }

    public Parameter? Bias { get; }

    protected override Tensor Compute(Tensor x) => Ops.Linear(x, Weight.Value, Bias?.Value);

    public override long MultiplyAdds(Shape input, Shape output) => output.Count * InFeatures;
}
