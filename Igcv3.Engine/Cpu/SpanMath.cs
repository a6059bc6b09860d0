using System.Numerics;
using System.Runtime.InteropServices;

namespace Igcv3.Engine.Cpu;

/// <summary>
/// The vectorised inner loops of the CPU kernels: a dot product and two multiply-adds over
/// contiguous runs of elements, written once with <see cref="Vector{T}"/> (float and double alike)
/// so that each kernel can keep its loops readable and still spend its time in SIMD code.
/// </summary>
internal static class SpanMath
{
    /// <summary>Σ a[i]·b[i] over a's length (b at least as long).</summary>
    public static T Dot<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : unmanaged, INumberBase<T>
    {
        RequireLength(b.Length, a.Length);
        ref T ra = ref MemoryMarshal.GetReference(a);
        ref T rb = ref MemoryMarshal.GetReference(b);
        int i = 0;
        T sum = T.Zero;
        if (a.Length >= Vector<T>.Count)
        {
            var acc = Vector<T>.Zero;
            for (; i <= a.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                acc += Vector.LoadUnsafe(ref ra, (nuint)i) * Vector.LoadUnsafe(ref rb, (nuint)i);
            }
            sum = Vector.Sum(acc);
        }
        for (; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    /// <summary>y[i] += alpha·x[i] over y's length (x at least as long): BLAS axpy.</summary>
    public static void MultiplyAdd<T>(Span<T> y, T alpha, ReadOnlySpan<T> x) where T : unmanaged, INumberBase<T>
    {
        RequireLength(x.Length, y.Length);
        ref T ry = ref MemoryMarshal.GetReference(y);
        ref T rx = ref MemoryMarshal.GetReference(x);
        int i = 0;
        if (y.Length >= Vector<T>.Count)
        {
            var va = new Vector<T>(alpha);
            for (; i <= y.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                (Vector.LoadUnsafe(ref ry, (nuint)i) + va * Vector.LoadUnsafe(ref rx, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
            }
        }
        for (; i < y.Length; i++) y[i] += alpha * x[i];
    }

    /// <summary>y[i] += a[i]·b[i] over y's length (a and b at least as long).</summary>
    public static void MultiplyAdd<T>(Span<T> y, ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : unmanaged, INumberBase<T>
    {
        RequireLength(a.Length, y.Length);
        RequireLength(b.Length, y.Length);
        ref T ry = ref MemoryMarshal.GetReference(y);
        ref T ra = ref MemoryMarshal.GetReference(a);
        ref T rb = ref MemoryMarshal.GetReference(b);
        int i = 0;
        for (; i <= y.Length - Vector<T>.Count; i += Vector<T>.Count)
        {
            (Vector.LoadUnsafe(ref ry, (nuint)i) + Vector.LoadUnsafe(ref ra, (nuint)i) * Vector.LoadUnsafe(ref rb, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
        }
        for (; i < y.Length; i++) y[i] += a[i] * b[i];
    }

    /// <summary>Σ a[k]·x[index[k]]: a dot product whose second operand is gathered (a fused
    /// channel permutation). Four partial sums break the chain of dependent additions that a
    /// gather, unlike a contiguous span, cannot vectorise away.</summary>
    public static T GatherDot<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> x, ReadOnlySpan<int> index) where T : unmanaged, INumberBase<T>
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

    /// <summary>y[index[k]] += alpha·x[k]: <see cref="MultiplyAdd{T}(Span{T}, T, ReadOnlySpan{T})"/> with a scattered destination.</summary>
    public static void ScatterMultiplyAdd<T>(Span<T> y, ReadOnlySpan<int> index, T alpha, ReadOnlySpan<T> x) where T : unmanaged, INumberBase<T>
    {
        x = x.Slice(0, index.Length);
        for (int k = 0; k < index.Length; k++) y[index[k]] += alpha * x[k];
    }

    /// <summary>y[k] += alpha·x[index[k]]: <see cref="MultiplyAdd{T}(Span{T}, T, ReadOnlySpan{T})"/> with a gathered source.</summary>
    public static void GatherMultiplyAdd<T>(Span<T> y, T alpha, ReadOnlySpan<T> x, ReadOnlySpan<int> index) where T : unmanaged, INumberBase<T>
    {
        y = y.Slice(0, index.Length);
        for (int k = 0; k < index.Length; k++) y[k] += alpha * x[index[k]];
    }

    /// <summary>d[i] = (double)x[i] over x's length: a row lifted to double, exactly.</summary>
    public static void Widen<T>(ReadOnlySpan<T> x, Span<double> d) where T : unmanaged, INumberBase<T>
    {
        RequireLength(d.Length, x.Length);
        int i = 0;
        if (typeof(T) == typeof(float))
        {
            ReadOnlySpan<float> xf = MemoryMarshal.Cast<T, float>(x);
            for (; i <= xf.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector.Widen(new Vector<float>(xf.Slice(i)), out Vector<double> lo, out Vector<double> hi);
                lo.CopyTo(d.Slice(i));
                hi.CopyTo(d.Slice(i + Vector<double>.Count));
            }
        }
        for (; i < x.Length; i++) d[i] = double.CreateTruncating(x[i]);
    }

    /// <summary>y[i] = (T)d[i] over y's length: a double row rounded to T (round to nearest, as a cast).</summary>
    public static void Narrow<T>(ReadOnlySpan<double> d, Span<T> y) where T : unmanaged, INumberBase<T>
    {
        RequireLength(d.Length, y.Length);
        int i = 0;
        if (typeof(T) == typeof(float))
        {
            Span<float> yf = MemoryMarshal.Cast<T, float>(y);
            for (; i <= yf.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector.Narrow(new Vector<double>(d.Slice(i)), new Vector<double>(d.Slice(i + Vector<double>.Count))).CopyTo(yf.Slice(i));
            }
        }
        for (; i < y.Length; i++) y[i] = T.CreateTruncating(d[i]);
    }

    /// <summary>y[i] += x[i] over y's length.</summary>
    public static void Add<T>(Span<T> y, ReadOnlySpan<T> x) where T : unmanaged, INumberBase<T>
    {
        RequireLength(x.Length, y.Length);
        ref T ry = ref MemoryMarshal.GetReference(y);
        ref T rx = ref MemoryMarshal.GetReference(x);
        int i = 0;
        for (; i <= y.Length - Vector<T>.Count; i += Vector<T>.Count)
        {
            (Vector.LoadUnsafe(ref ry, (nuint)i) + Vector.LoadUnsafe(ref rx, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
        }
        for (; i < y.Length; i++) y[i] += x[i];
    }

    /// <summary>y[j] = Σ_k x[k]·a[k·stride + j] for j &lt; y.Length: a row vector times a matrix whose
    /// rows lie <paramref name="stride"/> apart (BLAS gemv, transposed). Each run of y is summed in a
    /// register over all k, k ascending, and stored once.</summary>
    public static void RowTimesMatrix<T>(Span<T> y, ReadOnlySpan<T> x, ReadOnlySpan<T> a, int stride) where T : unmanaged, INumberBase<T>
    {
        RequireLength(stride, y.Length);
        if (x.Length > 0) RequireLength(a.Length, (x.Length - 1) * stride + y.Length);
        ref T ra = ref MemoryMarshal.GetReference(a);
        int j = 0;
        for (; j <= y.Length - Vector<T>.Count; j += Vector<T>.Count)
        {
            var acc = Vector<T>.Zero;
            for (int k = 0; k < x.Length; k++) acc += new Vector<T>(x[k]) * Vector.LoadUnsafe(ref ra, (nuint)(k * stride + j));
            acc.CopyTo(y.Slice(j));
        }
        for (; j < y.Length; j++)
        {
            T sum = T.Zero;
            for (int k = 0; k < x.Length; k++) sum += x[k] * a[k * stride + j];
            y[j] = sum;
        }
    }

    // The unchecked vector loads above rely on this: a short operand would read past its end.
    private static void RequireLength(int actual, int needed)
    {
        if (actual < needed) throw new ArgumentException($"operand of {actual} elements where {needed} are needed");
    }
}
