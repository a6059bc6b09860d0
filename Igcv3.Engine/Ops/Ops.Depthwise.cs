namespace Igcv3.Engine;

public static partial class Ops
{
    /// <summary>y[n,oh,ow,c] = Σ_{kh,kw} x[n, oh·s−1+kh, ow·s−1+kw, c] · w[c,kh,kw]: each channel
    /// filtered on its own by a 3x3 kernel, zero padding 1. x [N, H, W, C], w [C, 3, 3] (the memory
    /// of PyTorch's [C, 1, 3, 3]) → y [N, Ho, Wo, C], Ho = (H − 1) / s + 1, stride s 1 or 2.
    /// <paramref name="statistics"/>: the batch norm that follows asks for y's batch statistics.</summary>
    public static Tensor Depthwise3x3(Tensor x, Tensor w, int stride, BatchStatistics? statistics = null)
    {
        const string op = "depthwise3x3";
        Check.SameDeviceAndType(op, ("x", x), ("w", w));
        Check.Rank(op, "x", x, 4, "[N, H, W, C]");
        Check.Rank(op, "w", w, 3, "[C, 3, 3]");
        if (stride is not (1 or 2)) throw Check.Fail(op, $"stride must be 1 or 2, got {stride}");
        int n = x.Shape[0], h = x.Shape[1], width = x.Shape[2], c = x.Shape[3];
        Check.Shape(op, "w", w, [c, 3, 3], $"one 3x3 filter per channel of x {x.Shape}");
        // H = 0 would give (0 − 1) / 2 + 1 = 1 output row under truncating division.
        if (h < 1 || width < 1) throw Check.Fail(op, $"x {x.Shape} needs H and W of at least 1");

        var y = Tensor.Empty(x.Backend, [n, (h - 1) / stride + 1, (width - 1) / stride + 1, c], x.DType);
        x.Backend.DepthwiseForward(x, w, y, stride, statistics);
        return Autograd.Record(y, op, [x, w], dy => x.Backend.DepthwiseBackward(x, w, dy,
            x.RequiresGrad ? x.GradForWriting() : null,
            w.RequiresGrad ? w.GradForWriting() : null,
            stride));
    }
}
