namespace Igcv3.Engine;

/// <summary>Argument checks shared by every op. Each failure throws an
/// <see cref="ArgumentException"/> whose message starts with the op's name and shows the shapes
/// involved, so that a user's mistake reads as "conv2d: ..." rather than as an index error deep in
/// a kernel.</summary>
internal static class Check
{
    public static ArgumentException Fail(string op, string message) => new($"{op}: {message}");

    /// <summary>All tensors on one backend, with one floating dtype.</summary>
    public static void SameDeviceAndType(string op, params (string Name, Tensor? Tensor)[] tensors)
    {
        Tensor? first = null;
        string firstName = "";
        foreach (var (name, t) in tensors)
        {
            if (t is null) continue;
            if (first is null)
            {
                first = t;
                firstName = name;
                if (!t.DType.IsFloating()) throw Fail(op, $"{name} is {t.DType}; this op needs F32 or F64");
                continue;
            }
            if (t.Backend != first.Backend)
            {
                // Two backends of one kind (two CPU instances, two GPUs' backends) can share a name.
                string other = t.Backend.Name == first.Backend.Name ? $"another {t.Backend.Name} backend" : t.Backend.Name;
                throw Fail(op, $"{name} {t.Shape} is on {other} but {firstName} {first.Shape} is on {first.Backend.Name}; move them to one device");
            }
            if (t.DType != first.DType)
            {
                throw Fail(op, $"{name} {t.Shape} is {t.DType} but {firstName} {first.Shape} is {first.DType}; use one dtype");
            }
        }
    }

    public static void Rank(string op, string name, Tensor t, int rank, string layout)
    {
        if (t.Shape.Rank != rank) throw Fail(op, $"{name} must be {layout}, got shape {t.Shape}");
    }

    public static void SameShape(string op, string nameA, Tensor a, string nameB, Tensor b)
    {
        if (a.Shape != b.Shape) throw Fail(op, $"{nameA} {a.Shape} and {nameB} {b.Shape} must have the same shape");
    }

    public static void Shape(string op, string name, Tensor t, Shape expected, string why)
    {
        if (t.Shape != expected) throw Fail(op, $"{name} must have shape {expected} ({why}), got {t.Shape}");
    }

    public static void Positive(string op, string name, int value)
    {
        if (value <= 0) throw Fail(op, $"{name} must be positive, got {value}");
    }

    public static void NonNegative(string op, string name, int value)
    {
        if (value < 0) throw Fail(op, $"{name} must be non-negative, got {value}");
    }

    public static void Divides(string op, string what, int groups, string channelsName, int channels)
    {
        if (groups <= 0 || channels % groups != 0)
        {
            throw Fail(op, $"{what} {groups} must divide {channelsName} {channels}");
        }
    }
}
