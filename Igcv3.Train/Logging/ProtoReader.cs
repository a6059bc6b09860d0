using System.Buffers.Binary;

namespace Igcv3.Train.Logging;

/// <summary>Reads the protobuf wire format written by <see cref="ProtoWriter"/> (and skips fields it does not know).</summary>
public ref struct ProtoReader
{
    private ReadOnlySpan<byte> _rest;

    public ProtoReader(ReadOnlySpan<byte> message) => _rest = message;

    /// <summary>The next field's number and wire type; false at the end of the message.</summary>
    public bool TryReadKey(out int field, out int wireType)
    {
        if (_rest.IsEmpty)
        {
            field = wireType = 0;
            return false;
        }
        ulong key = ReadVarint();
        field = checked((int)(key >> 3));
        wireType = (int)(key & 7);
        return true;
    }

    public ulong ReadVarint()
    {
        ulong value = 0;
        for (int shift = 0; shift < 70; shift += 7)
        {
            if (_rest.IsEmpty) throw new InvalidDataException("protobuf: message ends inside a varint");
            byte b = _rest[0];
            _rest = _rest[1..];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
        throw new InvalidDataException("protobuf: varint longer than 10 bytes");
    }

    public double ReadDouble() => BinaryPrimitives.ReadDoubleLittleEndian(Take(8));

    public float ReadFloat() => BinaryPrimitives.ReadSingleLittleEndian(Take(4));

    public ReadOnlySpan<byte> ReadLengthDelimited() => Take(checked((int)ReadVarint()));

    public void Skip(int wireType)
    {
        switch (wireType)
        {
            case ProtoWriter.Varint: ReadVarint(); break;
            case ProtoWriter.Fixed64: Take(8); break;
            case ProtoWriter.LengthDelimited: ReadLengthDelimited(); break;
            case ProtoWriter.Fixed32: Take(4); break;
            default: throw new InvalidDataException($"protobuf: unsupported wire type {wireType}");
        }
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count > _rest.Length) throw new InvalidDataException($"protobuf: field needs {count} bytes, {_rest.Length} left");
        var taken = _rest[..count];
        _rest = _rest[count..];
        return taken;
    }
}
