using System.Buffers.Binary;

namespace Igcv3.Tests.Train.Images;

/// <summary>
/// A RecordIO writer for the tests, written from the format's definition (dmlc-core's recordio
/// and MXNet's IRHeader), not from our reader: each record's data is scanned at 4-byte-aligned
/// positions for the magic 0xced7230a, cut there (the magic dropped) into parts with cflag 1
/// (first), 2 (middle) and 3 (last), or written whole with cflag 0; every part is magic, lrecord
/// = cflag &lt;&lt; 29 | length, data; the record's end is zero-padded to 4 bytes. The .idx gets
/// "key\toffset" lines as MXIndexedRecordIO writes them.
/// </summary>
public sealed class RecordIOWriter : IDisposable
{
    private const uint Magic = 0xced7230a;
    private readonly FileStream _rec;
    private readonly StreamWriter? _idx;
    private int _key;

    public RecordIOWriter(string recPath, bool writeIndex = true)
    {
        _rec = File.Create(recPath);
        if (writeIndex) _idx = new StreamWriter(Path.ChangeExtension(recPath, ".idx"));
    }

    /// <summary>An image record: IRHeader {flag, label, id, id2}, the extra labels when there are any, the encoded image.</summary>
    public void WriteImage(float label, byte[] encoded, float[]? extraLabels = null, ulong id = 0)
    {
        var payload = new byte[24 + 4 * (extraLabels?.Length ?? 0) + encoded.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(payload, (uint)(extraLabels?.Length ?? 0));
        BinaryPrimitives.WriteSingleLittleEndian(payload.AsSpan(4), extraLabels is null ? label : 0f);
        BinaryPrimitives.WriteUInt64LittleEndian(payload.AsSpan(8), id);
        BinaryPrimitives.WriteUInt64LittleEndian(payload.AsSpan(16), 0);
        for (int i = 0; i < (extraLabels?.Length ?? 0); i++) BinaryPrimitives.WriteSingleLittleEndian(payload.AsSpan(24 + 4 * i), extraLabels![i]);
        encoded.CopyTo(payload, 24 + 4 * (extraLabels?.Length ?? 0));
        WriteRecord(payload);
    }

    public void WriteRecord(byte[] data)
    {
        _idx?.Write($"{_key++}\t{_rec.Position}\n");
        int aligned = data.Length / 4 * 4, start = 0;
        for (int i = 0; i < aligned; i += 4)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(i)) != Magic) continue;
            WritePart(start == 0 ? 1u : 2u, data.AsSpan(start, i - start));
            start = i + 4;
        }
        WritePart(start == 0 ? 0u : 3u, data.AsSpan(start));
        int pad = (4 - data.Length % 4) % 4; // the cut parts are multiples of 4, so this pads the last
        _rec.Write(new byte[pad]);
    }

    private void WritePart(uint cflag, ReadOnlySpan<byte> part)
    {
        Span<byte> head = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(head, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(head[4..], cflag << 29 | (uint)part.Length);
        _rec.Write(head);
        _rec.Write(part);
    }

    public void Dispose()
    {
        _idx?.Dispose();
        _rec.Dispose();
    }
}
