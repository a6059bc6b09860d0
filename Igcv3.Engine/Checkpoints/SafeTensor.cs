using System.Runtime.InteropServices;

namespace Igcv3.Engine.Checkpoints;

/// <summary>
/// One named tensor as it lies in a safetensors file: dtype, row-major shape and its raw
/// little-endian bytes, data.Length = Π shape × dtype size. Host memory only; the checkpoint layer
/// moves values between this and a backend.
/// </summary>
public sealed class SafeTensor
{
    private readonly long[] _shape;
    private readonly byte[] _data;

    public SafeTensor(string name, SafeTensorsDType dtype, ReadOnlySpan<long> shape, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(data);
        if (name == SafeTensorsHeader.MetadataKey) throw new ArgumentException($"safetensors: '{SafeTensorsHeader.MetadataKey}' is reserved for metadata and cannot name a tensor", nameof(name));
        long count = 1;
        foreach (long d in shape)
        {
            if (d < 0) throw new ArgumentException($"safetensors: tensor '{name}' has a negative dimension in shape {FormatShape(shape)}", nameof(shape));
            count = checked(count * d);
        }
        long expected = checked(count * dtype.SizeInBytes());
        if (data.Length != expected)
        {
            throw new ArgumentException($"safetensors: tensor '{name}' {dtype.HeaderName()} {FormatShape(shape)} needs {expected} bytes, got {data.Length}", nameof(data));
        }
        Name = name;
        DType = dtype;
        _shape = shape.ToArray();
        _data = data;
        Count = count;
    }

    public string Name { get; }

    public SafeTensorsDType DType { get; }

    public ReadOnlySpan<long> Shape => _shape;

    /// <summary>Element count, Π shape (1 for a scalar, shape []).</summary>
    public long Count { get; }

    /// <summary>The raw little-endian bytes.</summary>
    public ReadOnlySpan<byte> Data => _data;

    public long ByteLength => _data.Length;

    public string ShapeText => FormatShape(_shape);

    // ---- from host values -------------------------------------------------------------------

    public static SafeTensor FromFloats(string name, ReadOnlySpan<float> values, ReadOnlySpan<long> shape) => From(name, SafeTensorsDType.F32, values, shape);

    public static SafeTensor FromDoubles(string name, ReadOnlySpan<double> values, ReadOnlySpan<long> shape) => From(name, SafeTensorsDType.F64, values, shape);

    public static SafeTensor FromInt32s(string name, ReadOnlySpan<int> values, ReadOnlySpan<long> shape) => From(name, SafeTensorsDType.I32, values, shape);

    public static SafeTensor FromInt64s(string name, ReadOnlySpan<long> values, ReadOnlySpan<long> shape) => From(name, SafeTensorsDType.I64, values, shape);

    public static SafeTensor FromBytes(string name, ReadOnlySpan<byte> values, ReadOnlySpan<long> shape) => From(name, SafeTensorsDType.U8, values, shape);

    /// <summary>A one-dimensional I64 tensor, e.g. trainer state such as [epoch, step].</summary>
    public static SafeTensor FromInt64s(string name, params long[] values) => FromInt64s(name, values, [values.Length]);

    private static SafeTensor From<T>(string name, SafeTensorsDType dtype, ReadOnlySpan<T> values, ReadOnlySpan<long> shape) where T : unmanaged
    {
        LittleEndian.Require();
        return new SafeTensor(name, dtype, shape, MemoryMarshal.AsBytes(values).ToArray());
    }

    // ---- to host values ---------------------------------------------------------------------

    public float[] ToFloats() => To<float>(SafeTensorsDType.F32);

    public double[] ToDoubles() => To<double>(SafeTensorsDType.F64);

    public int[] ToInt32s() => To<int>(SafeTensorsDType.I32);

    public long[] ToInt64s() => To<long>(SafeTensorsDType.I64);

    public byte[] ToBytes() => To<byte>(SafeTensorsDType.U8);

    private T[] To<T>(SafeTensorsDType dtype) where T : unmanaged
    {
        if (DType != dtype) throw new InvalidOperationException($"safetensors: tensor '{Name}' is {DType.HeaderName()}, not {dtype.HeaderName()}");
        LittleEndian.Require();
        return MemoryMarshal.Cast<byte, T>(_data).ToArray();
    }

    public static string FormatShape(ReadOnlySpan<long> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    public override string ToString() => $"'{Name}' {DType.HeaderName()} {ShapeText}";
}

/// <summary>The file is little-endian and values are reinterpreted in place, so a big-endian host
/// would read garbage: refuse instead.</summary>
internal static class LittleEndian
{
    public static void Require()
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors: this reader and writer assume a little-endian host");
    }
}
