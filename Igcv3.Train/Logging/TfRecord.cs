using System.Buffers.Binary;

namespace Igcv3.Train.Logging;

/// <summary>
/// TFRecord framing, the container of TensorBoard event files. Each record is
/// uint64 length | uint32 masked CRC-32C of those 8 bytes | data | uint32 masked CRC-32C of data,
/// all little-endian.
/// </summary>
public static class TfRecord
{
    public static void Write(Stream stream, ReadOnlySpan<byte> data)
    {
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Crc32C.Masked(header[..8]));
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, Crc32C.Masked(data));
        stream.Write(header);
        stream.Write(data);
        stream.Write(footer);
    }

    /// <summary>Every record's data, each CRC verified; a bad CRC or a truncated record throws,
    /// naming its byte offset, or with <paramref name="upToDamage"/> ends the list (what a kill
    /// during a write leaves is the records before it).</summary>
    public static List<byte[]> ReadAll(ReadOnlySpan<byte> file, string name = "records", bool upToDamage = false)
    {
        var records = new List<byte[]>();
        int offset = 0;
        while (offset < file.Length)
        {
            if (upToDamage && !IsWhole(file[offset..])) break;
            if (file.Length - offset < 12) throw new InvalidDataException($"{name}: record at byte {offset} is cut off in its header");
            var header = file.Slice(offset, 12);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header[8..]) != Crc32C.Masked(header[..8]))
                throw new InvalidDataException($"{name}: record at byte {offset} has a bad length CRC");
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(header);
            if (length > (ulong)(file.Length - offset - 16))
                throw new InvalidDataException($"{name}: record at byte {offset} claims {length} bytes, more than the file holds");
            var data = file.Slice(offset + 12, (int)length);
            if (BinaryPrimitives.ReadUInt32LittleEndian(file[(offset + 12 + (int)length)..]) != Crc32C.Masked(data))
                throw new InvalidDataException($"{name}: record at byte {offset} has a bad data CRC");
            records.Add(data.ToArray());
            offset += 16 + (int)length;
        }
        return records;
    }

    private static bool IsWhole(ReadOnlySpan<byte> rest)
    {
        if (rest.Length < 12 || BinaryPrimitives.ReadUInt32LittleEndian(rest[8..]) != Crc32C.Masked(rest[..8])) return false;
        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(rest);
        return length <= (ulong)(rest.Length - 16)
               && BinaryPrimitives.ReadUInt32LittleEndian(rest[(12 + (int)length)..]) == Crc32C.Masked(rest.Slice(12, (int)length));
    }
}
