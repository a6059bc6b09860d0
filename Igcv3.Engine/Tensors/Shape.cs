using System.Runtime.CompilerServices;

namespace Igcv3.Engine;

/// <summary>An immutable list of dimensions. Tensors are always dense and row-major (the last
/// dimension is contiguous), so a shape is all the layout information a tensor carries.</summary>
[CollectionBuilder(typeof(Shape), nameof(Create))]
public readonly struct Shape : IEquatable<Shape>
{
    /// <summary>Lets a shape be written as a collection expression: <c>Shape s = [n, h, w, c];</c></summary>
    public static Shape Create(ReadOnlySpan<int> dims) => new(dims.ToArray());

    public ReadOnlySpan<int>.Enumerator GetEnumerator() => Dims.GetEnumerator();

    private readonly int[]? _dims;

    public Shape(params int[] dims)
    {
        foreach (int d in dims)
        {
            if (d < 0) throw new ArgumentException($"shape {Format(dims)} has a negative dimension", nameof(dims));
        }
        _dims = (int[])dims.Clone();
    }

    public static Shape Scalar => new();

    public int Rank => _dims?.Length ?? 0;

    public int this[int axis] => _dims![axis < 0 ? axis + Rank : axis];

    /// <summary>Number of elements (1 for a scalar).</summary>
    public long Count
    {
        get
        {
            long n = 1;
            if (_dims is null) return n;
            foreach (int d in _dims) n *= d;
            return n;
        }
    }

    public ReadOnlySpan<int> Dims => _dims ?? [];

    public int[] ToArray() => Dims.ToArray();

    /// <summary>The dimensions as 64-bit integers (safetensors' shape field).</summary>
    public long[] ToLongArray() => [.. Dims.ToArray().Select(d => (long)d)];

    public bool Equals(Shape other) => Dims.SequenceEqual(other.Dims);

    public override bool Equals(object? obj) => obj is Shape s && Equals(s);

    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (int d in Dims) h.Add(d);
        return h.ToHashCode();
    }

    public static bool operator ==(Shape a, Shape b) => a.Equals(b);

    public static bool operator !=(Shape a, Shape b) => !a.Equals(b);

    public override string ToString() => Format(Dims);

    private static string Format(ReadOnlySpan<int> dims) => "[" + string.Join(", ", dims.ToArray()) + "]";

    public static implicit operator Shape(int[] dims) => new(dims);
}
