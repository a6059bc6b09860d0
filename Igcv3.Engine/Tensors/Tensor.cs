namespace Igcv3.Engine;

/// <summary>
/// A dense, row-major view into a <see cref="Storage"/>: offset + shape. Activations are NHWC
/// [N, H, W, C]: channels innermost make a 1x1 convolution a plain GEMM over rows of C, let
/// depthwise and per-channel ops (BN, ReLU6, the IGC permutation) vectorise across channels,
/// and are what tensor cores want. The tensor also carries its autograd state: whether it needs
/// a gradient, the gradient once computed, and the node that produced it.
/// </summary>
public sealed class Tensor
{
    internal Tensor(Storage storage, long offset, Shape shape)
    {
        if (offset < 0 || offset + shape.Count > storage.Length)
        {
            throw new ArgumentException($"view [{offset}, {offset + shape.Count}) of shape {shape} lies outside a storage of {storage.Length} elements");
        }
        Storage = storage;
        Offset = offset;
        Shape = shape;
    }

    public Storage Storage { get; }

    /// <summary>Offset of the first element in <see cref="Storage"/>, in elements.</summary>
    public long Offset { get; }

    public Shape Shape { get; }

    public DType DType => Storage.DType;

    public IBackend Backend => Storage.Backend;

    public long Count => Shape.Count;

    /// <summary>Optional name, used in error messages and checkpoints.</summary>
    public string? Name { get; set; }

    /// <summary>True for parameters and for every result computed from one outside no-grad mode.</summary>
    public bool RequiresGrad { get; set; }

    /// <summary>The accumulated gradient: allocated on first use, or bound in advance to a view of a
    /// flat gradient buffer (<see cref="BindGradient"/>).</summary>
    public Tensor? Grad { get; internal set; }

    /// <summary>The op that produced this tensor; null for leaves (inputs and parameters).</summary>
    public Node? Creator { get; internal set; }

    public bool IsLeaf => Creator is null;

    // ---- creation ---------------------------------------------------------------------------

    public static Tensor Zeros(IBackend backend, Shape shape, DType dtype = DType.F32) =>
        new(backend.Allocate(dtype, shape.Count), 0, shape);

    /// <summary>A tensor whose values are unspecified until written: only for one written whole
    /// straight away, a forward method's output or an upload (see <see cref="IBackend.AllocateUninitialized"/>).</summary>
    public static Tensor Empty(IBackend backend, Shape shape, DType dtype = DType.F32) =>
        new(backend.AllocateUninitialized(dtype, shape.Count), 0, shape);

    /// <summary>A view of <paramref name="count"/> elements of an existing storage.</summary>
    public static Tensor View(Storage storage, long offset, Shape shape) => new(storage, offset, shape);

    public static Tensor FromArray(IBackend backend, float[] data, Shape shape) => FromSpan<float>(backend, data, shape, DType.F32);

    public static Tensor FromArray(IBackend backend, double[] data, Shape shape) => FromSpan<double>(backend, data, shape, DType.F64);

    public static Tensor FromArray(IBackend backend, int[] data, Shape shape) => FromSpan<int>(backend, data, shape, DType.I32);

    private static Tensor FromSpan<T>(IBackend backend, ReadOnlySpan<T> data, Shape shape, DType dtype) where T : unmanaged
    {
        if (data.Length != shape.Count)
        {
            throw new ArgumentException($"{data.Length} values given for a tensor of shape {shape} ({shape.Count} elements)");
        }
        var t = Empty(backend, shape, dtype);
        backend.Upload(data, t);
        return t;
    }

    /// <summary>Normal(0, std²) values from a seeded generator, drawn on the host so that every
    /// backend and dtype gets the same numbers for the same seed.</summary>
    public static Tensor RandomNormal(IBackend backend, Shape shape, Random random, double std = 1.0, DType dtype = DType.F32)
    {
        var values = new double[shape.Count];
        for (int i = 0; i < values.Length; i++) values[i] = std * NextGaussian(random);
        return FromHostDoubles(backend, values, shape, dtype);
    }

    /// <summary>Uniform values in [low, high) from a seeded generator.</summary>
    public static Tensor RandomUniform(IBackend backend, Shape shape, Random random, double low = -1.0, double high = 1.0, DType dtype = DType.F32)
    {
        var values = new double[shape.Count];
        for (int i = 0; i < values.Length; i++) values[i] = low + (high - low) * random.NextDouble();
        return FromHostDoubles(backend, values, shape, dtype);
    }

    /// <summary>Copies double values into a new tensor of the given floating dtype.</summary>
    public static Tensor FromHostDoubles(IBackend backend, double[] values, Shape shape, DType dtype)
    {
        if (values.Length != shape.Count)
        {
            throw new ArgumentException($"{values.Length} values given for a tensor of shape {shape} ({shape.Count} elements)");
        }
        var t = Empty(backend, shape, dtype);
        t.UploadDoubles(values);
        return t;
    }

    /// <summary>Writes double values into this tensor (a view included), converted to its floating
    /// dtype on the host: no temporary device tensor, so nothing is left for the collector.</summary>
    public void UploadDoubles(double[] values)
    {
        switch (DType)
        {
            case DType.F64: Backend.Upload<double>(values, this); break;
            case DType.F32: Backend.Upload<float>(Array.ConvertAll(values, v => (float)v), this); break;
            default: throw new ArgumentException($"cannot fill a {DType} tensor with floating values");
        }
    }

    public static double NextGaussian(Random random)
    {
        // Box-Muller; 1 - NextDouble() keeps the logarithm's argument in (0, 1].
        double u1 = 1.0 - random.NextDouble();
        double u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    // ---- host access ------------------------------------------------------------------------

    public float[] ToFloatArray()
    {
        if (DType == DType.F32) return Download<float>();
        return Array.ConvertAll(ToDoubleArray(), v => (float)v);
    }

    public double[] ToDoubleArray() => DType switch
    {
        DType.F64 => Download<double>(),
        DType.F32 => Array.ConvertAll(Download<float>(), v => (double)v),
        DType.I32 => Array.ConvertAll(Download<int>(), v => (double)v),
        DType.BF16 => Array.ConvertAll(Download<ushort>(), v => (double)BFloat16.ToSingle(v)),
        _ => throw new InvalidOperationException($"unknown dtype {DType}"),
    };

    public int[] ToIntArray() => DType == DType.I32 ? Download<int>() : throw new InvalidOperationException($"tensor is {DType}, not I32");

    /// <summary>The value of a one-element tensor.</summary>
    public double Item()
    {
        if (Count != 1) throw new InvalidOperationException($"Item() needs a one-element tensor, this one has shape {Shape}");
        return ToDoubleArray()[0];
    }

    private T[] Download<T>() where T : unmanaged
    {
        var data = new T[Count];
        Backend.Download<T>(this, data);
        return data;
    }

    // ---- autograd ---------------------------------------------------------------------------

    /// <summary>Makes this tensor's gradient a given view (of a flat gradient buffer), so that
    /// backward accumulates straight into it.</summary>
    public void BindGradient(Tensor gradient)
    {
        if (gradient.Shape != Shape || gradient.DType != DType || gradient.Backend != Backend)
        {
            throw new ArgumentException($"gradient {gradient.Shape} {gradient.DType} does not fit tensor {Shape} {DType}");
        }
        Grad = gradient;
        RequiresGrad = true;
    }

    /// <summary>The gradient, allocated on first use UNWRITTEN (<see cref="IsUnwritten"/>): its first
    /// writer overwrites it, so no pass zeroes it first.</summary>
    internal Tensor GradForWriting()
    {
        if (Grad is null)
        {
            Grad = Empty(Backend, Shape, DType);
            Grad.IsUnwritten = Count > 0; // an empty gradient has nothing to write: no backend need see to it
        }
        return Grad;
    }

    /// <summary>
    /// True while this tensor's values are undefined because it is a gradient that nothing has
    /// written yet. Backward methods ACCUMULATE into the gradients they are given, except into an
    /// unwritten one, which they overwrite (see <see cref="TakeUnwritten"/>). Autograd allocates
    /// activation gradients so; what a GPU saves is a memset pass over each of them.
    /// </summary>
    public bool IsUnwritten { get; private set; }

    /// <summary>For a backend about to write this gradient: true when it is unwritten, and so must
    /// be overwritten rather than accumulated into; from then on it counts as written. The backend
    /// must then write every element (or zero it first).</summary>
    public bool TakeUnwritten()
    {
        bool unwritten = IsUnwritten;
        IsUnwritten = false;
        return unwritten;
    }

    /// <summary>Marks a tensor unwritten (tests: its first writer must not read it).</summary>
    internal void MarkUnwritten() => IsUnwritten = Count > 0;

    /// <summary>Backpropagates from this tensor: from a scalar with seed 1, or from any tensor with
    /// an explicit seed gradient of its shape. Gradients accumulate into the leaves' Grad.</summary>
    public void Backward(Tensor? seed = null) => Autograd.Backward(this, seed);

    /// <summary>Backpropagates from this scalar, calling <paramref name="leafGradientDone"/> with each
    /// leaf as soon as its gradient is complete (see <see cref="Autograd"/>).</summary>
    public void Backward(Action<Tensor> leafGradientDone) => Autograd.Backward(this, null, leafGradientDone);

    public override string ToString() => $"Tensor{(Name is null ? "" : " " + Name)} {Shape} {DType} on {Backend.Name}";
}
