using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Igcv3.Tests.Train;

/// <summary>
/// Writes level-5 MAT files for the tests, from the format's definition (MathWorks' "MAT-File
/// Format", level 5), not from our reader: the 128-byte header, then one miMATRIX element per
/// array (array flags, dimensions, name, real part), each element padded to 8 bytes, optionally
/// wrapped in a zlib-compressed miCOMPRESSED element as MATLAB -v7 and scipy's do_compression write.
/// </summary>
public static class MatFileWriter
{
    public const int MiInt8 = 1, MiUint8 = 2, MiInt32 = 5, MiUint32 = 6, MiDouble = 9, MiMatrix = 14, MiCompressed = 15;
    public const int DoubleClass = 6, Uint8Class = 9;

    public sealed record Array(string Name, int Class, int[] Dimensions, int DataType, byte[] Data);

    public static void Write(string path, bool compress, params Array[] arrays)
    {
        using var file = File.Create(path);
        var header = new byte[128];
        Encoding.ASCII.GetBytes("MATLAB 5.0 MAT-file, written by the Igcv3 tests".PadRight(116)).CopyTo(header, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(124), 0x0100);
        header[126] = (byte)'I';
        header[127] = (byte)'M';
        file.Write(header);
        foreach (var array in arrays)
        {
            var matrix = Element(MiMatrix, MatrixBody(array));
            if (!compress)
            {
                file.Write(matrix);
                continue;
            }
            using var packed = new MemoryStream();
            using (var zlib = new ZLibStream(packed, CompressionLevel.Fastest, leaveOpen: true)) zlib.Write(matrix);
            var tag = new byte[8];
            BinaryPrimitives.WriteUInt32LittleEndian(tag, MiCompressed);
            BinaryPrimitives.WriteUInt32LittleEndian(tag.AsSpan(4), (uint)packed.Length);
            file.Write(tag);
            file.Write(packed.ToArray()); // a compressed element is not padded
        }
    }

    private static byte[] MatrixBody(Array a)
    {
        var flags = new byte[8];
        flags[0] = (byte)a.Class;
        var dims = new byte[4 * a.Dimensions.Length];
        for (int i = 0; i < a.Dimensions.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(dims.AsSpan(4 * i), a.Dimensions[i]);
        var name = Encoding.ASCII.GetBytes(a.Name);
        return [.. Element(MiUint32, flags), .. Element(MiInt32, dims), .. (name.Length <= 4 ? SmallElement(MiInt8, name) : Element(MiInt8, name)), .. Element(a.DataType, a.Data)];
    }

    private static byte[] Element(int type, byte[] data)
    {
        var element = new byte[8 + (data.Length + 7) / 8 * 8];
        BinaryPrimitives.WriteUInt32LittleEndian(element, (uint)type);
        BinaryPrimitives.WriteUInt32LittleEndian(element.AsSpan(4), (uint)data.Length);
        data.CopyTo(element, 8);
        return element;
    }

    /// <summary>The small data element format: byte count in the upper half of the type word, the data in the second word.</summary>
    private static byte[] SmallElement(int type, byte[] data)
    {
        var element = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(element, (uint)(data.Length << 16 | type));
        data.CopyTo(element, 4);
        return element;
    }
}
