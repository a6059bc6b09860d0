using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Igcv3.Train.Data;

/// <summary>A value of a MAT file: its name (empty inside a struct or cell) and dimensions (MATLAB's, column-major).</summary>
public abstract record MatValue(string Name, int[] Dimensions)
{
    public long Count => Dimensions.Aggregate(1L, (a, b) => a * b);
}

/// <summary>A char array; <see cref="Text"/> is its characters in storage (column-major) order, the string itself for a 1 x N row.</summary>
public sealed record MatText(string Name, int[] Dimensions, string Text) : MatValue(Name, Dimensions);

/// <summary>A cell array: its elements in column-major order.</summary>
public sealed record MatCell(string Name, int[] Dimensions, MatValue[] Elements) : MatValue(Name, Dimensions);

/// <summary>A struct array: for each element (column-major) its fields' values by name.</summary>
public sealed record MatStruct(string Name, int[] Dimensions, string[] FieldNames, IReadOnlyDictionary<string, MatValue>[] Elements) : MatValue(Name, Dimensions);

/// <summary>An array of a class this reader does not decode (sparse, object, function handle, complex), kept by name only.</summary>
public sealed record MatUnsupported(string Name, int[] Dimensions, int Class) : MatValue(Name, Dimensions);

/// <summary>
/// One numeric array of a MAT file: its name, MATLAB class (mxDOUBLE_CLASS = 6, mxUINT8_CLASS = 9,
/// ...), dimensions, and its real part as stored (the storage type can be narrower than the class:
/// MATLAB writes a double array of small integers as uint8 bytes).
/// </summary>
public sealed record MatArray(string Name, int Class, int[] Dimensions, int DataType, byte[] Data) : MatValue(Name, Dimensions)
{
    public const int DoubleClass = 6, Uint8Class = 9;

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
/// miMATRIX (14) element holds array flags (class in the low byte), dimensions, name, and then by
/// class: a numeric array its real part; a char array (class 4) its characters (miUINT16/miUTF16 or
/// miUINT8/miUTF8); a cell array (class 1) one miMATRIX per element; a struct array (class 2) the
/// longest field name's length (miINT32), the field names (miINT8, NUL-padded to that length),
/// then one miMATRIX per field of each element. An empty miMATRIX (no bytes) is an empty double array.
/// </summary>
public static class MatFile
{
    public const int MiInt8 = 1, MiUint8 = 2, MiInt16 = 3, MiUint16 = 4, MiInt32 = 5, MiUint32 = 6, MiSingle = 7, MiDouble = 9,
        MiInt64 = 12, MiUint64 = 13, MiMatrix = 14, MiCompressed = 15, MiUtf8 = 16, MiUtf16 = 17;

    private const int CellClass = 1, StructClass = 2, ObjectClass = 3, CharClass = 4, SparseClass = 5;

    public static int SizeOf(int dataType) => dataType switch
    {
        MiInt8 or MiUint8 => 1,
        MiInt16 or MiUint16 => 2,
        MiInt32 or MiUint32 or MiSingle => 4,
        MiDouble or MiInt64 or MiUint64 => 8,
        _ => throw new InvalidDataException($"data type {dataType} is not numeric"),
    };

    /// <summary>Every numeric (non-complex) array of <paramref name="path"/>, by name.</summary>
    public static Dictionary<string, MatArray> Read(string path) =>
        ReadAll(path).Values.OfType<MatArray>().ToDictionary(a => a.Name, StringComparer.Ordinal);

    /// <summary>Every top-level value of <paramref name="path"/> (numeric, char, cell, struct), by name.</summary>
    public static Dictionary<string, MatValue> ReadAll(string path)
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
            var arrays = new Dictionary<string, MatValue>(StringComparer.Ordinal);
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
                if (type == MiMatrix)
                {
                    var value = ParseMatrix(data);
                    arrays[value.Name] = value;
                }
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

    private static MatValue ParseMatrix(byte[] matrix)
    {
        // MATLAB writes an empty cell or struct field as a miMATRIX of no bytes.
        if (matrix.Length == 0) return new MatArray("", MatArray.DoubleClass, [0, 0], MiDouble, []);
        using var stream = new MemoryStream(matrix);
        if (!ReadElement(stream, out _, out var flags) || flags.Length < 4) throw new InvalidDataException("a matrix without array flags");
        int cls = flags[0];
        bool complex = (flags[1] & 0x08) != 0;
        if (!ReadElement(stream, out _, out var dimBytes)) throw new InvalidDataException("a matrix without dimensions");
        var dims = new int[dimBytes.Length / 4];
        for (int i = 0; i < dims.Length; i++) dims[i] = BinaryPrimitives.ReadInt32LittleEndian(dimBytes.AsSpan(i * 4));
        if (dims.Any(d => d < 0)) throw new InvalidDataException($"a matrix of dimensions {string.Join("x", dims)}");
        if (!ReadElement(stream, out _, out var nameBytes)) throw new InvalidDataException("a matrix without a name");
        string name = Encoding.ASCII.GetString(nameBytes);
        long count = dims.Aggregate(1L, (a, b) => a * b);
        switch (cls)
        {
            case CellClass:
            {
                var elements = new MatValue[count];
                for (long i = 0; i < count; i++) elements[i] = ReadChild(stream, $"cell {name} element {i}");
                return new MatCell(name, dims, elements);
            }
            case StructClass:
            {
                if (!ReadElement(stream, out _, out var lengthBytes) || lengthBytes.Length < 4) throw new InvalidDataException($"struct {name} without its field name length");
                int length = BinaryPrimitives.ReadInt32LittleEndian(lengthBytes);
                if (!ReadElement(stream, out _, out var namesBytes)) throw new InvalidDataException($"struct {name} without its field names");
                if (length <= 0 || namesBytes.Length % length != 0) throw new InvalidDataException($"struct {name}: {namesBytes.Length} bytes of field names of {length} each");
                var fields = new string[namesBytes.Length / length];
                for (int f = 0; f < fields.Length; f++) fields[f] = Encoding.ASCII.GetString(namesBytes, f * length, length).TrimEnd('\0');
                var elements = new IReadOnlyDictionary<string, MatValue>[count];
                for (long i = 0; i < count; i++)
                {
                    var element = new Dictionary<string, MatValue>(StringComparer.Ordinal);
                    foreach (string field in fields) element[field] = ReadChild(stream, $"struct {name} element {i} field {field}");
                    elements[i] = element;
                }
                return new MatStruct(name, dims, fields, elements);
            }
            case CharClass:
            {
                if (!ReadElement(stream, out int charType, out var chars)) throw new InvalidDataException($"char array {name} without its characters");
                string text = charType switch
                {
                    MiUint16 or MiUtf16 => Encoding.Unicode.GetString(chars),
                    MiUint8 or MiUtf8 or MiInt8 => Encoding.UTF8.GetString(chars),
                    _ => throw new InvalidDataException($"char array {name} stored as data type {charType}"),
                };
                return new MatText(name, dims, text);
            }
            case ObjectClass or SparseClass or > 15:
                return new MatUnsupported(name, dims, cls);
        }
        if (cls < 6 || complex) return new MatUnsupported(name, dims, cls);
        if (!ReadElement(stream, out int dataType, out var real)) throw new InvalidDataException("a matrix without its data");
        var array = new MatArray(name, cls, dims, dataType, real);
        if (real.Length != array.Count * SizeOf(dataType))
            throw new InvalidDataException($"array {array.Name} has {real.Length} bytes for {array.Count} values of {SizeOf(dataType)} bytes");
        return array;
    }

    /// <summary>The next miMATRIX inside a cell or struct.</summary>
    private static MatValue ReadChild(Stream stream, string what)
    {
        if (!ReadElement(stream, out int type, out var data)) throw new InvalidDataException($"{what} is missing");
        if (type != MiMatrix) throw new InvalidDataException($"{what} is data type {type}, not a matrix");
        return ParseMatrix(data);
    }
}
