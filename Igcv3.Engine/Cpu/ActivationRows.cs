using System.Numerics;

namespace Igcv3.Engine.Cpu;

/// <summary>
/// The activations over runs of elements, vectorised: the same arithmetic as
/// <see cref="CpuBackend.Activate{T}"/> and <see cref="CpuBackend.Passes{T}"/> element by element
/// (max, clamp, and a mask read off the output), so the results are the same bits.
/// </summary>
internal static class ActivationRows
{
    /// <summary>y[i] = act(y[i]).</summary>
    public static void ActivateInPlace<T>(Activation activation, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (activation == Activation.None) return;
        var zero = Vector<T>.Zero;
        var six = new Vector<T>(T.CreateTruncating(6));
        int i = 0;
        for (; i <= y.Length - Vector<T>.Count; i += Vector<T>.Count)
        {
            var v = Vector.Max(new Vector<T>(y.Slice(i)), zero);
            if (activation == Activation.Relu6) v = Vector.Min(v, six);
            v.CopyTo(y.Slice(i));
        }
        for (; i < y.Length; i++) y[i] = CpuBackend.Activate(activation, y[i]);
    }

    /// <summary>grad[i] = act'(y[i]) ? dy[i] : 0, the derivative read off the output y.</summary>
    public static void MaskGradient<T>(Activation activation, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> grad) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (activation == Activation.None)
        {
            dy.Slice(0, grad.Length).CopyTo(grad);
            return;
        }
        var zero = Vector<T>.Zero;
        var six = new Vector<T>(T.CreateTruncating(6));
        int i = 0;
        for (; i <= grad.Length - Vector<T>.Count; i += Vector<T>.Count)
        {
            var vy = new Vector<T>(y.Slice(i));
            var pass = Vector.GreaterThan(vy, zero);
            if (activation == Activation.Relu6) pass &= Vector.LessThan(vy, six);
            Vector.ConditionalSelect(pass, new Vector<T>(dy.Slice(i)), zero).CopyTo(grad.Slice(i));
        }
        for (; i < grad.Length; i++) grad[i] = CpuBackend.Passes(activation, y[i]) ? dy[i] : T.Zero;
    }
}
