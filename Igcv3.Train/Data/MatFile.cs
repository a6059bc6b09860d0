using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Igcv3.Train.Data;

/// <summary>
/// One numeric array of a MAT file: its name, MATLAB class (mxDOUBLE_CLASS = 6, mxUINT8_CLASS = 9,
/// ...), dimensions, and its real part as stored (the storage type can be narrower than the class:
/// MATLAB writes a double array of small integers as uint8 bytes).
/// </summary>
public sealed record MatArray(string Name, int Class, int[] Dimensions, int DataType, byte[] Data)
{
    public const int DoubleClass = 6, Uint8Class = 9;

    public long Count => Dimensions.Aggregate(1L, (a, b) => a * b);

    /// <summary>The values as doubles, whatever their storage type.</summary>
    public double[] ToDoubles()
    {
        int size = MatFile.SizeOf(DataType);
        var values = new double[Data.Length / size];
        var span = Data.AsSpan();
        for (int i = 0; i < values.Length; i++)
        {
            var v = span.Slice(i * size, size);
            values[i] = DataType switch
            {
                MatFile.MiInt8 => (sbyte)v[0],
                MatFile.MiUint8 => v[0],
                MatFile.MiInt16 => BinaryPrimitives.ReadInt16LittleEndian(v),
                MatFile.MiUint16 => BinaryPrimitives.ReadUInt16LittleEndian(v),
                MatFile.MiInt32 => BinaryPrimitives.ReadInt32LittleEndian(v),
                MatFile.MiUint32 => BinaryPrimitives.ReadUInt32LittleEndian(v),
                MatFile.MiSingle => BinaryPrimitives.ReadSingleLittleEndian(v),
                MatFile.MiDouble => BinaryPrimitives.ReadDoubleLittleEndian(v),
                MatFile.MiInt64 => BinaryPrimitives.ReadInt64LittleEndian(v),
                _ => BinaryPrimitives.ReadUInt64LittleEndian(v),
            };
        }
        return values;
    }
}

/// <summary>
/// Reads the numeric arrays of a level-5 MAT file (MATLAB 5 to 7.2, what scipy.io.savemat and
/// MATLAB's default -v7 write; SVHN's .mat files are these), without MATLAB. The format: a 128-byte
/// header (text, subsystem offset, version 0x0100, endian indicator "IM" for little-endian), then
/// data elements, each an 8-byte tag (uint32 type, uint32 byte count; or, in the small format,
/// the count in the upper 16 bits of the type word and up to 4 bytes of data in the second word)
/// and its data padded to 8 bytes. A miCOMPRESSED (15) element is a zlib stream of one element; a
/// miMATRIX (14) element holds array flags (class in the low byte), dimensions, name, and the real part.
/// </summary>
public static class MatFile
{
    public const int MiInt8 = 1, MiUint8 = 2, MiInt16 = 3, MiUint16 = 4, MiInt32 = 5, MiUint32 = 6, MiSingle = 7, MiDouble = 9,
        MiInt64 = 12, MiUint64 = 13, MiMatrix = 14, MiCompressed = 15;

    public static int SizeOf(int dataType) => dataType switch
    {
        MiInt8 or MiUint8 => 1,
        MiInt16 or MiUint16 => 2,
        MiInt32 or MiUint32 or MiSingle => 4,
        MiDouble or MiInt64 or MiUint64 => 8,
        _ => throw new InvalidDataException($"data type {dataType} is not numeric"),
    };

    /// <summary>Every numeric (non-complex) array of <paramref name="path"/>, by name.</summary>
    public static Dictionary<string, MatArray> Read(string path)
    {
        try
        {
            using var file = File.OpenRead(path);
            var header = new byte[128];
            file.ReadExactly(header);
            if (header[126] == 'M' && header[127] == 'I')
                throw new DataException($"{path} is a big-endian MAT file; only little-endian ones are read");
            if (header[126] != 'I' || header[127] != 'M' || !Encoding.ASCII.GetString(header, 0, 6).StartsWith("MATLAB", StringComparison.Ordinal))
                throw new DataException($"{path} is not a level-5 MAT file (no 'MATLAB' header with endian indicator 'IM'); a v7.3 (HDF5) file cannot be read here");
            var arrays = new Dictionary<string, MatArray>(StringComparer.Ordinal);
            while (ReadElement(file, out int type, out byte[] data))
            {
                if (type == MiCompressed)
                {
                    using var inflated = new ZLibStream(new MemoryStream(data), CompressionMode.Decompress);
                    using var buffer = new MemoryStream();
                    inflated.CopyTo(buffer);
                    buffer.Position = 0;
                    if (!ReadElement(buffer, out type, out data)) continue;
                }
                if (type == MiMatrix && ParseMatrix(data) is { } array) arrays[array.Name] = array;
            }
            return arrays;
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            throw new DataException($"{path} is damaged or truncated ({e.Message}); delete it and download it again", e);
        }
    }

    /// <summary>The next element's type and data (padding skipped); false at the end of the stream.</summary>
    private static bool ReadElement(Stream stream, out int type, out byte[] data)
    {
        var tag = new byte[8];
        int got = stream.ReadAtLeast(tag, 8, throwOnEndOfStream: false);
        if (got == 0) { (type, data) = (0, []); return false; }
        if (got < 8) throw new EndOfStreamException("the file ends inside an element's tag");
        uint word = BinaryPrimitives.ReadUInt32LittleEndian(tag);
        if (word >> 16 != 0)
        {
            // Small data element: up to 4 bytes, in the tag itself.
            type = (int)(word & 0xFFFF);
            data = tag.AsSpan(4, (int)(word >> 16)).ToArray();
            return true;
        }
        type = (int)word;
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(tag.AsSpan(4));
        if (count > int.MaxValue) throw new InvalidDataException($"an element of {count} bytes");
        data = new byte[count];
        stream.ReadExactly(data);
        // Every element but a compressed one is padded to a multiple of 8 bytes.
        int pad = type == MiCompressed ? 0 : (int)((8 - count % 8) % 8);
        if (pad > 0) stream.ReadAtLeast(new byte[pad], pad, throwOnEndOfStream: false); // the last element's may be cut
        return true;
    }

    private static MatArray? ParseMatrix(byte[] matrix)
    {
        using var stream = new MemoryStream(matrix);
        if (!ReadElement(stream, out _, out var flags) || flags.Length < 4) throw new InvalidDataException("a matrix without array flags");
        int cls = flags[0];
        bool complex = (flags[1] & 0x08) != 0;
        if (!ReadElement(stream, out _, out var dimBytes)) throw new InvalidDataException("a matrix without dimensions");
        var dims = new int[dimBytes.Length / 4];
        for (int i = 0; i < dims.Length; i++) dims[i] = BinaryPrimitives.ReadInt32LittleEndian(dimBytes.AsSpan(i * 4));
        if (!ReadElement(stream, out _, out var name)) throw new InvalidDataException("a matrix without a name");
        if (cls is < 6 or > 15 || complex) return null; // cells, structs, chars, sparse, complex: not needed here
        if (!ReadElement(stream, out int dataType, out var real)) throw new InvalidDataException("a matrix without its data");
        var array = new MatArray(Encoding.ASCII.GetString(name), cls, dims, dataType, real);
        if (real.Length != array.Count * SizeOf(dataType))
            throw new InvalidDataException($"array {array.Name} has {real.Length} bytes for {array.Count} values of {SizeOf(dataType)} bytes");
        return array;
    }
}
