namespace Igcv3.Engine;

public static partial class Ops
{
    /// <summary>y = x·wᵀ + b: x [N, In], w [Out, In], b [Out] or null → y [N, Out].</summary>
    public static Tensor Linear(Tensor x, Tensor w, Tensor? b)
    {
        const string op = "linear";
        Check.SameDeviceAndType(op, ("x", x), ("w", w), ("b", b));
        Check.Rank(op, "x", x, 2, "[N, In]");
        Check.Rank(op, "w", w, 2, "[Out, In]");
        if (w.Shape[1] != x.Shape[1]) throw Check.Fail(op, $"w {w.Shape} must be [Out, In] with In = {x.Shape[1]} from x {x.Shape}");
        if (b is not null) Check.Shape(op, "b", b, [w.Shape[0]], $"one per output of w {w.Shape}");
        var y = Tensor.Empty(x.Backend, [x.Shape[0], w.Shape[0]], x.DType);
        x.Backend.LinearForward(x, w, b, y);
        Tensor[] inputs = b is null ? [x, w] : [x, w, b];
        return Autograd.Record(y, op, inputs, dy => x.Backend.LinearBackward(x, w, dy,
            x.RequiresGrad ? x.GradForWriting() : null,
            w.RequiresGrad ? w.GradForWriting() : null,
            b is not null && b.RequiresGrad ? b.GradForWriting() : null));
    }
}
