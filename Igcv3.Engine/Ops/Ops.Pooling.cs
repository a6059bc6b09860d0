namespace Igcv3.Engine;

public static partial class Ops
{
    /// <summary>y[n, c] = mean over h, w of x[n, h, w, c]: x [N, H, W, C] → y [N, C].</summary>
    public static Tensor GlobalAvgPool(Tensor x)
    {
        const string op = "global_avg_pool";
        Check.SameDeviceAndType(op, ("x", x));
        Check.Rank(op, "x", x, 4, "[N, H, W, C]");
        if (x.Shape[1] == 0 || x.Shape[2] == 0) throw Check.Fail(op, $"x {x.Shape} has no spatial positions to average");
        var y = Tensor.Empty(x.Backend, [x.Shape[0], x.Shape[3]], x.DType);
        x.Backend.GlobalAvgPoolForward(x, y);
        return Autograd.Record(y, op, [x], dy => x.Backend.GlobalAvgPoolBackward(dy, x.GradForWriting()));
    }

    /// <summary>y[n, oh, ow, c] = max of x[n, ·, ·, c] over the K×K window at (oh·S − P, ow·S − P),
    /// padding counting as −∞: x [N, H, W, C] → y [N, Ho, Wo, C], Ho = (H + 2P − K)/S + 1.
    /// The gradient goes to the first maximum of each window.</summary>
    public static Tensor MaxPool(Tensor x, PoolSpec spec)
    {
        const string op = "max_pool";
        Check.SameDeviceAndType(op, ("x", x));
        Check.Rank(op, "x", x, 4, "[N, H, W, C]");
        Check.Positive(op, "kernel", spec.Kernel);
        Check.Positive(op, "stride", spec.Stride);
        if (spec.Padding < 0 || spec.Padding > spec.Kernel / 2)
        {
            // P ≤ K/2 (PyTorch's rule) guarantees that every window holds at least one real element.
            throw Check.Fail(op, $"padding must lie in [0, kernel/2] = [0, {spec.Kernel / 2}], got {spec.Padding}");
        }
        int h = x.Shape[1], w = x.Shape[2];
        if (h + 2 * spec.Padding < spec.Kernel || w + 2 * spec.Padding < spec.Kernel)
        {
            throw Check.Fail(op, $"x {x.Shape} padded by {spec.Padding} is smaller than the {spec.Kernel}x{spec.Kernel} window");
        }
        var y = Tensor.Empty(x.Backend, [x.Shape[0], spec.OutputSize(h), spec.OutputSize(w), x.Shape[3]], x.DType);
        x.Backend.MaxPoolForward(x, y, spec);
        return Autograd.Record(y, op, [x], dy => x.Backend.MaxPoolBackward(x, dy, x.GradForWriting(), spec));
    }
}
