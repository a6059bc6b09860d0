using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Igcv3.Engine.Checkpoints;

/// <summary>Writes tensors and metadata in the safetensors format (see <see cref="SafeTensorsHeader"/>):
/// tensors in the order given, their bytes back to back from offset 0, the header padded with
/// spaces to a multiple of 8 bytes as the reference implementation does.</summary>
public static class SafeTensorsWriter
{
    /// <summary>Writes a complete file to <paramref name="stream"/> (from its current position).</summary>
    public static void Write(Stream stream, IReadOnlyList<SafeTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensors);
        byte[] header = BuildHeader(tensors, metadata);

        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        stream.Write(header);
        foreach (var t in tensors) stream.Write(t.Data);
    }

    /// <summary>The whole file as bytes.</summary>
    public static byte[] ToBytes(IReadOnlyList<SafeTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var memory = new MemoryStream();
        Write(memory, tensors, metadata);
        return memory.ToArray();
    }

    /// <summary>The JSON header, space-padded to a multiple of <see cref="SafeTensorsHeader.Alignment"/>.</summary>
    private static byte[] BuildHeader(IReadOnlyList<SafeTensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        using var json = new MemoryStream();
        // Relaxed escaping keeps names readable in the header; the output is still valid JSON.
        using (var w = new Utf8JsonWriter(json, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject(SafeTensorsHeader.MetadataKey);
                foreach (var (key, value) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                {
                    ArgumentNullException.ThrowIfNull(value, $"metadata['{key}']");
                    w.WriteString(key, value);
                }
                w.WriteEndObject();
            }

            long offset = 0;
            foreach (var t in tensors)
            {
                if (!seen.Add(t.Name)) throw new ArgumentException($"safetensors: tensor name '{t.Name}' appears twice; names must be unique", nameof(tensors));
                w.WriteStartObject(t.Name);
                w.WriteString("dtype", t.DType.HeaderName());
                w.WriteStartArray("shape");
                foreach (long d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + t.ByteLength);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += t.ByteLength;
            }
            w.WriteEndObject();
        }

        int padding = (int)((SafeTensorsHeader.Alignment - json.Length % SafeTensorsHeader.Alignment) % SafeTensorsHeader.Alignment);
        for (int i = 0; i < padding; i++) json.WriteByte((byte)' ');
        if (json.Length > SafeTensorsHeader.MaxHeaderBytes)
        {
            throw new ArgumentException($"safetensors: the header would be {json.Length} bytes, above the {SafeTensorsHeader.MaxHeaderBytes}-byte limit readers enforce");
        }
        return json.ToArray();
    }
}
