using System.Numerics;

namespace Igcv3.Engine.Cpu;

public sealed partial class CpuBackend
{
    public void Add(Tensor a, Tensor b, Tensor y) =>
        ByType(y.DType, () => AddKernel<float>(a, b, y), () => AddKernel<double>(a, b, y));

    public void Accumulate(Tensor source, Tensor destination)
    {
        ZeroUnwritten(destination);
        ByType(destination.DType, () => AccumulateKernel<float>(source, destination), () => AccumulateKernel<double>(source, destination));
    }

    public void ActivationForward(Activation activation, Tensor x, Tensor y) =>
        ByType(y.DType, () => ActivationForwardKernel<float>(activation, x, y), () => ActivationForwardKernel<double>(activation, x, y));

    public void ActivationBackward(Activation activation, Tensor y, Tensor dy, Tensor dx)
    {
        ZeroUnwritten(dx);
        ByType(dx.DType, () => ActivationBackwardKernel<float>(activation, y, dy, dx), () => ActivationBackwardKernel<double>(activation, y, dy, dx));
    }

    // y[i] = a[i] + b[i]
    private static void AddKernel<T>(Tensor a, Tensor b, Tensor y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ReadOnlySpan<T> sa = Span<T>(a), sb = Span<T>(b);
        Span<T> sy = Span<T>(y);
        for (int i = 0; i < sy.Length; i++) sy[i] = sa[i] + sb[i];
    }

    // dst[i] += src[i]
    private static void AccumulateKernel<T>(Tensor source, Tensor destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ReadOnlySpan<T> src = Span<T>(source);
        Span<T> dst = Span<T>(destination);
        if (src.Length != dst.Length) throw new ArgumentException($"accumulate {source} into {destination}: counts differ");
        for (int i = 0; i < dst.Length; i++) dst[i] += src[i];
    }

    // y[i] = act(x[i])
    private static void ActivationForwardKernel<T>(Activation activation, Tensor x, Tensor y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ReadOnlySpan<T> sx = Span<T>(x);
        Span<T> sy = Span<T>(y);
        for (int i = 0; i < sy.Length; i++) sy[i] = Activate(activation, sx[i]);
    }

    // dx[i] += dy[i] * act'(y[i])
    private static void ActivationBackwardKernel<T>(Activation activation, Tensor y, Tensor dy, Tensor dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ReadOnlySpan<T> sy = Span<T>(y), sdy = Span<T>(dy);
        Span<T> sdx = Span<T>(dx);
        for (int i = 0; i < sdx.Length; i++)
        {
            if (Passes(activation, sy[i])) sdx[i] += sdy[i];
        }
    }

    /// <summary>act(v): shared by the activation op and batch norm's fused activation.</summary>
    internal static T Activate<T>(Activation activation, T v) where T : IFloatingPointIeee754<T> => activation switch
    {
        Activation.None => v,
        Activation.Relu => T.Max(v, T.Zero),
        Activation.Relu6 => T.Clamp(v, T.Zero, T.CreateTruncating(6)),
        _ => throw new ArgumentOutOfRangeException(nameof(activation)),
    };

    /// <summary>Whether the gradient passes the activation, judged from its output y.</summary>
    internal static bool Passes<T>(Activation activation, T y) where T : IFloatingPointIeee754<T> => activation switch
    {
        Activation.None => true,
        Activation.Relu => y > T.Zero,
        Activation.Relu6 => y > T.Zero && y < T.CreateTruncating(6),
        _ => throw new ArgumentOutOfRangeException(nameof(activation)),
    };
}
