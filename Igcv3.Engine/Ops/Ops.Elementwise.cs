namespace Igcv3.Engine;

/// <summary>
/// The differentiable ops: one partial file per op family. Each op checks its arguments (the
/// message names the op and the shapes), allocates its output, calls the backend's forward, and
/// records a closure that calls the backend's backward for the inputs that need a gradient.
/// Written once; every backend runs it.
/// </summary>
public static partial class Ops
{
    /// <summary>y = a + b, same shapes (the residual add).</summary>
    public static Tensor Add(Tensor a, Tensor b)
    {
        const string op = "add";
        Check.SameDeviceAndType(op, ("a", a), ("b", b));
        Check.SameShape(op, "a", a, "b", b);
        var y = Tensor.Empty(a.Backend, a.Shape, a.DType);
        a.Backend.Add(a, b, y);
        return Autograd.Record(y, op, [a, b], dy =>
        {
            if (a.RequiresGrad) a.Backend.Accumulate(dy, a.GradForWriting());
            if (b.RequiresGrad) b.Backend.Accumulate(dy, b.GradForWriting());
        });
    }

    public static Tensor Relu(Tensor x) => Activate(x, Activation.Relu);

    public static Tensor Relu6(Tensor x) => Activate(x, Activation.Relu6);

    /// <summary>y = act(x) elementwise; <see cref="Activation.None"/> returns x itself.</summary>
    public static Tensor Activate(Tensor x, Activation activation)
    {
        if (activation == Activation.None) return x;
        string op = activation.ToString().ToLowerInvariant();
        Check.SameDeviceAndType(op, ("x", x));
        var y = Tensor.Empty(x.Backend, x.Shape, x.DType);
        x.Backend.ActivationForward(activation, x, y);
        return Autograd.Record(y, op, [x], dy => x.Backend.ActivationBackward(activation, y, dy, x.GradForWriting()));
    }

    /// <summary>The same elements under another shape (a view: no copy).</summary>
    public static Tensor Reshape(Tensor x, Shape shape)
    {
        const string op = "reshape";
        if (shape.Count != x.Count) throw Check.Fail(op, $"cannot view {x.Shape} ({x.Count} elements) as {shape} ({shape.Count} elements)");
        var y = Tensor.View(x.Storage, x.Offset, shape);
        return Autograd.Record(y, op, [x], dy =>
            x.Backend.Accumulate(Tensor.View(dy.Storage, dy.Offset, x.Shape), x.GradForWriting()));
    }
}
