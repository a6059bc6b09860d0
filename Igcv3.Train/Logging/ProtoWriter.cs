using System.Buffers.Binary;
using System.Text;

namespace Igcv3.Train.Logging;

/// <summary>
/// The protobuf wire format, as much as the event files need: a field key is
/// varint(field << 3 | wire type); wire type 0 varint, 1 fixed 64-bit, 2 length-delimited,
/// 5 fixed 32-bit; fixed values little-endian. Written by hand so that logging needs no package.
/// </summary>
public sealed class ProtoWriter
{
    public const int Varint = 0, Fixed64 = 1, LengthDelimited = 2, Fixed32 = 5;

    private readonly MemoryStream _buffer = new();

    public ProtoWriter Double(int field, double value)
    {
        Key(field, Fixed64);
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteDoubleLittleEndian(bytes, value);
        _buffer.Write(bytes);
        return this;
    }

    public ProtoWriter Float(int field, float value)
    {
        Key(field, Fixed32);
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
        _buffer.Write(bytes);
        return this;
    }

    /// <summary>int64 as protobuf writes it: the two's-complement bits as an unsigned varint (negatives take 10 bytes).</summary>
    public ProtoWriter Int64(int field, long value)
    {
        Key(field, Varint);
        WriteVarint(unchecked((ulong)value));
        return this;
    }

    public ProtoWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public ProtoWriter Bytes(int field, ReadOnlySpan<byte> value)
    {
        Key(field, LengthDelimited);
        WriteVarint((ulong)value.Length);
        _buffer.Write(value);
        return this;
    }

    /// <summary>An embedded message is a length-delimited field holding the message's bytes.</summary>
    public ProtoWriter Message(int field, ProtoWriter message) => Bytes(field, message.ToArray());

    public byte[] ToArray() => _buffer.ToArray();

    private void Key(int field, int wireType)
    {
        if (field <= 0) throw new ArgumentOutOfRangeException(nameof(field), $"protobuf: field numbers start at 1, got {field}");
        WriteVarint(((ulong)field << 3) | (uint)wireType);
    }

    private void WriteVarint(ulong value)
    {
        while (value >= 0x80)
        {
            _buffer.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        _buffer.WriteByte((byte)value);
    }
}
