namespace Igcv3.Engine.Checkpoints;

/// <summary>The element types this reader and writer handle, spelled as in the safetensors header.
/// Every value is little-endian in the file.</summary>
public enum SafeTensorsDType { F32, F64, I32, I64, U8 }

public static class SafeTensorsDTypeExtensions
{
    /// <summary>Bytes per element.</summary>
    public static int SizeInBytes(this SafeTensorsDType dtype) => dtype switch
    {
        SafeTensorsDType.F32 => 4,
        SafeTensorsDType.F64 => 8,
        SafeTensorsDType.I32 => 4,
        SafeTensorsDType.I64 => 8,
        SafeTensorsDType.U8 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown safetensors dtype"),
    };

    /// <summary>The header spelling ("F32", ...).</summary>
    public static string HeaderName(this SafeTensorsDType dtype) => dtype.ToString();

    /// <summary>Parses a header dtype string; exact, case-sensitive match as the format requires.</summary>
    public static bool TryParseHeaderName(string name, out SafeTensorsDType dtype)
    {
        foreach (var candidate in Enum.GetValues<SafeTensorsDType>())
        {
            if (candidate.HeaderName() == name)
            {
                dtype = candidate;
                return true;
            }
        }
        dtype = default;
        return false;
    }

    /// <summary>The file dtype that stores an engine dtype without conversion.</summary>
    public static SafeTensorsDType ToSafeTensors(this DType dtype) => dtype switch
    {
        DType.F32 => SafeTensorsDType.F32,
        DType.F64 => SafeTensorsDType.F64,
        DType.I32 => SafeTensorsDType.I32,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "no safetensors dtype for this engine dtype"),
    };
}
