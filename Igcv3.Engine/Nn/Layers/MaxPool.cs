namespace Igcv3.Engine.Nn;

/// <summary>y = max over each K×K window (padding counts as −∞). x [N,H,W,C] → y [N,Ho,Wo,C].</summary>
public sealed class MaxPool : Layer
{
    public MaxPool(int kernel, int stride, int padding = 0)
    {
        if (kernel <= 0 || stride <= 0 || padding < 0 || 2 * padding >= kernel + 1) throw new ArgumentException($"maxpool: kernel {kernel}, stride {stride} must be positive and padding {padding} smaller than the window");
        Spec = new PoolSpec(kernel, stride, padding);
    }

    public PoolSpec Spec { get; }

    protected override Tensor Compute(Tensor x) => Ops.MaxPool(x, Spec);
}
