using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace Igcv3.Train.Data.Images;

/// <summary>
/// Reads records of a dmlc RecordIO file (MXNet's .rec) by their byte offset. The framing, from
/// dmlc-core's recordio: each part is magic 0xced7230a (uint32, little-endian), then lrecord
/// (uint32) whose low 29 bits are the part's length and whose top 3 bits are cflag, then the data,
/// zero-padded to a multiple of 4 bytes. cflag 0 is a whole record; a record whose data contained
/// the magic number was split there into a first part (1), middle parts (2) and a last part (3),
/// the magic dropped at each cut, so reading puts it back between the parts. Positional reads,
/// so any number of threads may read at once.
/// </summary>
public sealed class RecordIOFile : IDisposable
{
    public const uint Magic = 0xced7230a;
    private const int LengthBits = 29;

    private readonly SafeFileHandle _handle;

    public RecordIOFile(string path)
    {
        Path = path;
        try
        {
            _handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException($"cannot open RecordIO file {System.IO.Path.GetFullPath(path)}: {e.Message}");
        }
        Length = RandomAccess.GetLength(_handle);
    }

    public string Path { get; }
    public long Length { get; }

    /// <summary>The whole record starting at <paramref name="offset"/>, and the offset just after it.</summary>
    public (byte[] Data, long Next) Read(long offset)
    {
        var parts = new List<byte[]>();
        int total = 0;
        while (true)
        {
            var (cflag, length) = ReadFraming(offset);
            var part = new byte[length];
            ReadExactly(offset + 8, part);
            offset += 8 + Padded(length);
            if (parts.Count > 0) total += 4; // the magic that the writer cut out before this part
            parts.Add(part);
            total += length;
            if (cflag == 0 && parts.Count == 1) return (part, offset);
            if (cflag == 0) throw Bad(offset, "a whole record (cflag 0) inside a split record");
            if (cflag == 3 && parts.Count == 1) throw Bad(offset, "a last part (cflag 3) without a first part");
            if (cflag == 3) break;
            if (cflag > 3) throw Bad(offset, $"cflag {cflag} (only 0 to 3 exist)");
            if (cflag == 1 && parts.Count > 1) throw Bad(offset, "a split record's first part (cflag 1) where a continuation was expected");
            if (cflag == 2 && parts.Count == 1) throw Bad(offset, "a continuation part (cflag 2) without a first part");
        }
        var data = new byte[total];
        int at = 0;
        for (int i = 0; i < parts.Count; i++)
        {
            if (i > 0)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(at), Magic);
                at += 4;
            }
            parts[i].CopyTo(data, at);
            at += parts[i].Length;
        }
        return (data, offset);
    }

    /// <summary>The first <paramref name="count"/> bytes of the record at <paramref name="offset"/> (of its first part), for headers.</summary>
    public byte[] ReadStart(long offset, int count)
    {
        var (_, length) = ReadFraming(offset);
        var start = new byte[Math.Min(count, length)];
        ReadExactly(offset + 8, start);
        return start;
    }

    /// <summary>The offset of every record, by walking the framing from the start (when there is no .idx).</summary>
    public List<long> ScanOffsets()
    {
        var offsets = new List<long>();
        long offset = 0;
        while (offset < Length)
        {
            offsets.Add(offset);
            while (true)
            {
                var (cflag, length) = ReadFraming(offset);
                offset += 8 + Padded(length);
                if (cflag is 0 or 3) break;
            }
        }
        return offsets;
    }

    private (uint Cflag, int Length) ReadFraming(long offset)
    {
        Span<byte> head = stackalloc byte[8];
        if (offset < 0 || offset + 8 > Length) throw Bad(offset, $"a record header past the end of the file ({Length} bytes)");
        ReadExactly(offset, head);
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(head);
        if (magic != Magic) throw Bad(offset, $"magic 0x{magic:x8} instead of 0x{Magic:x8} (not a RecordIO file, or a wrong .idx offset)");
        uint lrecord = BinaryPrimitives.ReadUInt32LittleEndian(head[4..]);
        int length = (int)(lrecord & ((1u << LengthBits) - 1));
        if (offset + 8 + length > Length) throw Bad(offset, $"a {length}-byte record that runs past the end of the file (truncated?)");
        return (lrecord >> LengthBits, length);
    }

    private static int Padded(int length) => (length + 3) & ~3;

    private void ReadExactly(long offset, Span<byte> buffer)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int n = RandomAccess.Read(_handle, buffer[done..], offset + done);
            if (n == 0) throw Bad(offset, "the file ends inside a record");
            done += n;
        }
    }

    private DataException Bad(long offset, string what) => new($"RecordIO file {System.IO.Path.GetFullPath(Path)}, byte {offset}: {what}");

    public void Dispose() => _handle.Dispose();
}
