using System.Numerics;

namespace Igcv3.Engine.Cpu;

/// <summary>The two contiguous inner loops of the CPU GEMM-like kernels, vectorised with
/// <see cref="Vector{T}"/>: a dot product and an accumulating scaled add. Only the order of the
/// additions differs from a plain loop, so results on exactly representable values (the
/// small-integer tests) are bit-identical to it.</summary>
internal static class SpanMath
{
    /// <summary>Σ a[i]·b[i] over equal-length spans.</summary>
    public static T Dot<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        T sum = T.Zero;
        if (Vector.IsHardwareAccelerated && a.Length >= Vector<T>.Count)
        {
            var lanes = Vector<T>.Zero;
            for (; i <= a.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                lanes += new Vector<T>(a.Slice(i)) * new Vector<T>(b.Slice(i));
            }
            sum = Vector.Sum(lanes);
        }
        for (; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    /// <summary>y[i] += alpha·x[i] over equal-length spans (BLAS axpy, accumulating).</summary>
    public static void AddScaled<T>(T alpha, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<T>.Count)
        {
            var a = new Vector<T>(alpha);
            for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var yi = y.Slice(i);
                (new Vector<T>(yi) + a * new Vector<T>(x.Slice(i))).CopyTo(yi);
            }
        }
        for (; i < x.Length; i++) y[i] += alpha * x[i];
    }

    /// <summary>Σ a[k]·x[index[k]]: a dot product whose second operand is gathered (a fused
    /// channel permutation). Four partial sums break the chain of dependent additions that a
    /// gather, unlike a contiguous span, cannot vectorise away.</summary>
    public static T GatherDot<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> x, ReadOnlySpan<int> index) where T : unmanaged, IFloatingPointIeee754<T>
    {
        a = a.Slice(0, index.Length);
        T s0 = T.Zero, s1 = T.Zero, s2 = T.Zero, s3 = T.Zero;
        int k = 0;
        for (; k <= index.Length - 4; k += 4)
        {
            s0 += a[k] * x[index[k]];
            s1 += a[k + 1] * x[index[k + 1]];
            s2 += a[k + 2] * x[index[k + 2]];
            s3 += a[k + 3] * x[index[k + 3]];
        }
        for (; k < index.Length; k++) s0 += a[k] * x[index[k]];
        return s0 + s1 + (s2 + s3);
    }

    /// <summary>y[index[k]] += alpha·x[k]: <see cref="AddScaled"/> with a scattered destination.</summary>
    public static void ScatterAddScaled<T>(T alpha, ReadOnlySpan<T> x, Span<T> y, ReadOnlySpan<int> index) where T : unmanaged, IFloatingPointIeee754<T>
    {
        x = x.Slice(0, index.Length);
        for (int k = 0; k < index.Length; k++) y[index[k]] += alpha * x[k];
    }

    /// <summary>y[k] += alpha·x[index[k]]: <see cref="AddScaled"/> with a gathered source.</summary>
    public static void GatherAddScaled<T>(T alpha, ReadOnlySpan<T> x, ReadOnlySpan<int> index, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        y = y.Slice(0, index.Length);
        for (int k = 0; k < index.Length; k++) y[k] += alpha * x[index[k]];
    }
}
