namespace Igcv3.Engine;

/// <summary>Element types. Training runs in F32; F64 exists so that the CPU reference path can be
/// gradient-checked by finite differences in double precision; I32 holds class labels.</summary>
public enum DType { F32, F64, I32 }

public static class DTypeExtensions
{
    public static int SizeInBytes(this DType dtype) => dtype switch
    {
        DType.F32 => 4,
        DType.F64 => 8,
        DType.I32 => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    public static bool IsFloating(this DType dtype) => dtype is DType.F32 or DType.F64;
}
