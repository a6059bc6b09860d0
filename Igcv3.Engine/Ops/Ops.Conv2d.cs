namespace Igcv3.Engine;

public static partial class Ops
{
    /// <summary>y[n,oh,ow,co] = Σ_{kh,kw,ci} x[n, oh·s−p+kh, ow·s−p+kw, g·Cin/G+ci] · w[co,kh,kw,ci],
    /// g = co / (Cout/G): a grouped convolution with zero padding. x [N, H, W, Cin],
    /// w [Cout, K, K, Cin/G] → y [N, Ho, Wo, Cout], Ho = (H + 2p − K) / s + 1.</summary>
    public static Tensor Conv2d(Tensor x, Tensor w, Conv2dSpec spec)
    {
        const string op = "conv2d";
        Check.SameDeviceAndType(op, ("x", x), ("w", w));
        Check.Rank(op, "x", x, 4, "[N, H, W, Cin]");
        Check.Rank(op, "w", w, 4, "[Cout, K, K, Cin/groups]");
        Check.Positive(op, "kernel", spec.Kernel);
        Check.Positive(op, "stride", spec.Stride);
        Check.NonNegative(op, "padding", spec.Padding);
        Check.Positive(op, "groups", spec.Groups);
        int n = x.Shape[0], h = x.Shape[1], width = x.Shape[2], cin = x.Shape[3], cout = w.Shape[0];
        Check.Positive(op, $"Cin of x {x.Shape}", cin);
        Check.Positive(op, $"Cout of w {w.Shape}", cout);
        Check.Divides(op, "groups", spec.Groups, $"Cin of x {x.Shape}", cin);
        Check.Divides(op, "groups", spec.Groups, $"Cout of w {w.Shape}", cout);
        Check.Shape(op, "w", w, [cout, spec.Kernel, spec.Kernel, cin / spec.Groups],
            $"OHWI for kernel {spec.Kernel}, x {x.Shape} and groups {spec.Groups}");
        // Tested before dividing by the stride: C#'s division truncates towards zero, so a
        // negative H + 2p − K would otherwise still give an output size of 1.
        if (h + 2 * spec.Padding < spec.Kernel || width + 2 * spec.Padding < spec.Kernel)
        {
            throw Check.Fail(op, $"kernel {spec.Kernel} is larger than x {x.Shape} padded by {spec.Padding}");
        }

        var y = Tensor.Empty(x.Backend, [n, spec.OutputSize(h), spec.OutputSize(width), cout], x.DType);
        x.Backend.Conv2dForward(x, w, y, spec);
        return Autograd.Record(y, op, [x, w], dy => x.Backend.Conv2dBackward(x, w, dy,
            x.RequiresGrad ? x.GradForWriting() : null,
            w.RequiresGrad ? w.GradForWriting() : null,
            spec));
    }
}
