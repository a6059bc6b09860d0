namespace Igcv3.Engine;

/// <summary>Element types. Training runs in F32; F64 exists so that the CPU reference path can be
/// gradient-checked by finite differences in double precision; I32 holds class labels. BF16 is
/// storage only so far (<see cref="BFloat16"/>: 16-bit patterns, host type ushort): tensors can be
/// allocated, uploaded, downloaded and copied, and the bf16 1x1 convolution
/// (PointwiseForwardBf16) reads and writes them; every other op refuses them (not
/// <see cref="DTypeExtensions.IsFloating"/>), until they compute in fp32 from bf16 storage.</summary>
public enum DType { F32, F64, I32, BF16 }

public static class DTypeExtensions
{
    public static int SizeInBytes(this DType dtype) => dtype switch
    {
        DType.F32 => 4,
        DType.F64 => 8,
        DType.I32 => 4,
        DType.BF16 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    /// <summary>The types the ops compute in (BF16 is not one yet: it is storage).</summary>
    public static bool IsFloating(this DType dtype) => dtype is DType.F32 or DType.F64;
}
