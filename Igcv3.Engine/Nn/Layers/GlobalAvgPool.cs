namespace Igcv3.Engine.Nn;

/// <summary>y[n, c] = mean over h, w of x[n, h, w, c]. x [N,H,W,C] → y [N,C]. Equals the official
/// nets' fixed-size average pool (8x8 on CIFAR IGCV1, 7x7 on ImageNet) at their input sizes.</summary>
public sealed class GlobalAvgPool : Layer
{
    protected override Tensor Compute(Tensor x) => Ops.GlobalAvgPool(x);
}
