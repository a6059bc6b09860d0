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

    // The unchecked vector loads above rely on this: a short operand would read past its end.
    private static void RequireLength(int actual, int needed)
    {
        if (actual < needed) throw new ArgumentException($"operand of {actual} elements where {needed} are needed");
    }
}
