using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Unicode;

namespace Igcv3.Engine.Checkpoints;

/// <summary>
/// Reads a safetensors file (see <see cref="SafeTensorsHeader"/>) and treats it as untrusted: every
/// number in the header is checked against the file's real size before anything is allocated or
/// read, so a truncated or corrupt file fails with a <see cref="CheckpointException"/> naming the
/// first problem, never with an out-of-range read, a huge allocation, or another exception type.
/// </summary>
public static class SafeTensorsReader
{
    public static SafeTensorsFile Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return Read(stream, path);
    }

    /// <summary>Parses an in-memory file; <paramref name="displayName"/> names it in messages.</summary>
    public static SafeTensorsFile Parse(byte[] bytes, string displayName)
    {
        using var stream = new MemoryStream(bytes, writable: false);
        return Read(stream, displayName);
    }

    /// <summary>Reads from the current position to the end of a seekable stream.</summary>
    public static SafeTensorsFile Read(Stream stream, string displayName)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanSeek) throw new ArgumentException("safetensors: the reader needs a seekable stream, to check offsets against the file size", nameof(stream));
        LittleEndian.Require();
        var fail = new Failure(displayName);
        try
        {
            return ReadChecked(stream, fail);
        }
        catch (EndOfStreamException e)
        {
            // Only possible if the file shrank while we read it: every length was checked first.
            throw fail.With("the file ended while it was being read (was it modified meanwhile?)", e);
        }
    }

    private static SafeTensorsFile ReadChecked(Stream stream, Failure fail)
    {
        long start = stream.Position;
        long fileLength = stream.Length - start;
        if (fileLength < 8)
        {
            throw fail.With($"the file is {fileLength} bytes, too short for the 8-byte header length: the file is truncated or not a safetensors file");
        }

        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > SafeTensorsHeader.MaxHeaderBytes)
        {
            throw fail.With($"the header length field says {headerLength} bytes, above the {SafeTensorsHeader.MaxHeaderBytes}-byte limit: the file is corrupt or not a safetensors file");
        }
        if ((long)headerLength > fileLength - 8)
        {
            throw fail.With($"the header length field says {headerLength} bytes but only {fileLength - 8} bytes follow it: the file is truncated or corrupt");
        }

        // header [headerLength] UTF-8 JSON
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        long dataLength = fileLength - 8 - (long)headerLength;
        var (entries, metadata) = ParseHeader(header, fail);
        CheckTiling(entries, dataLength, fail);

        // data [dataLength]: read each tensor's bytes in offset order, all ranges now known in bounds.
        var tensors = new List<SafeTensor>(entries.Count);
        long dataStart = start + 8 + (long)headerLength;
        foreach (var e in entries)
        {
            long byteCount = e.End - e.Begin;
            if (byteCount > Array.MaxLength) throw fail.With($"tensor '{e.Name}' is {byteCount} bytes, more than one array can hold");
            var data = new byte[byteCount];
            stream.Position = dataStart + e.Begin;
            stream.ReadExactly(data);
            tensors.Add(new SafeTensor(e.Name, e.DType, e.Shape, data));
        }
        return new SafeTensorsFile(tensors, metadata);
    }

    /// <summary>One header entry, with offsets relative to the data section.</summary>
    private sealed record Entry(string Name, SafeTensorsDType DType, long[] Shape, long Begin, long End);

    private static (List<Entry>, Dictionary<string, string>) ParseHeader(byte[] header, Failure fail)
    {
        if (header.Length == 0 || header[0] != (byte)'{')
        {
            throw fail.With("the header does not start with '{': the file is corrupt or not a safetensors file");
        }
        // JsonDocument checks UTF-8 only when a string is decoded, and then throws
        // InvalidOperationException: check the whole header up front instead.
        if (!Utf8.IsValid(header)) throw fail.With("the header is not valid UTF-8: the file is corrupt");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw fail.With($"the header is not valid JSON ({e.Message}): the file is corrupt", e);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw fail.With($"the header is a JSON {root.ValueKind}, not an object: the file is corrupt");
            var entries = new List<Entry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                // JSON parsers keep duplicates silently; the format forbids them, and two entries for
                // one name could make two readers see different tensors.
                if (!names.Add(property.Name)) throw fail.With($"the name '{property.Name}' appears twice in the header; duplicate names are not allowed");
                if (property.Name == SafeTensorsHeader.MetadataKey) ReadMetadata(property.Value, metadata, fail);
                else entries.Add(ReadEntry(property.Name, property.Value, fail));
            }
            return (entries, metadata);
        }
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, Failure fail)
    {
        if (value.ValueKind != JsonValueKind.Object) throw fail.With($"'{SafeTensorsHeader.MetadataKey}' is a JSON {value.ValueKind}, not an object of strings");
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String) throw fail.With($"'{SafeTensorsHeader.MetadataKey}' entry '{item.Name}' is a JSON {item.Value.ValueKind}; the format allows only strings");
            if (!metadata.TryAdd(item.Name, item.Value.GetString()!)) throw fail.With($"'{SafeTensorsHeader.MetadataKey}' has the key '{item.Name}' twice");
        }
    }

    private static Entry ReadEntry(string name, JsonElement value, Failure fail)
    {
        if (value.ValueKind != JsonValueKind.Object) throw fail.With($"tensor '{name}' is a JSON {value.ValueKind}, not an object with dtype, shape and data_offsets");

        var dtypeElement = Field(name, value, "dtype", JsonValueKind.String, fail);
        string dtypeName = dtypeElement.GetString()!;
        if (!SafeTensorsDTypeExtensions.TryParseHeaderName(dtypeName, out var dtype))
        {
            string supported = string.Join(", ", Enum.GetValues<SafeTensorsDType>().Select(d => d.HeaderName()));
            throw fail.With($"tensor '{name}' has dtype '{dtypeName}', which this reader does not support (supported: {supported})");
        }

        var shapeElement = Field(name, value, "shape", JsonValueKind.Array, fail);
        var shape = new long[shapeElement.GetArrayLength()];
        for (int i = 0; i < shape.Length; i++) shape[i] = NonNegativeInteger(name, $"shape[{i}]", shapeElement[i], fail);

        var offsetsElement = Field(name, value, "data_offsets", JsonValueKind.Array, fail);
        if (offsetsElement.GetArrayLength() != 2) throw fail.With($"tensor '{name}' has {offsetsElement.GetArrayLength()} data_offsets, not 2 ([begin, end])");
        long begin = NonNegativeInteger(name, "data_offsets[0]", offsetsElement[0], fail);
        long end = NonNegativeInteger(name, "data_offsets[1]", offsetsElement[1], fail);
        if (end < begin) throw fail.With($"tensor '{name}' has data_offsets [{begin}, {end}): the end lies before the beginning");

        long expected;
        try
        {
            long count = 1;
            foreach (long d in shape) count = checked(count * d);
            expected = checked(count * dtype.SizeInBytes());
        }
        catch (OverflowException)
        {
            throw fail.With($"tensor '{name}' has shape {SafeTensor.FormatShape(shape)}, whose byte size overflows: the file is corrupt");
        }
        if (end - begin != expected)
        {
            throw fail.With($"tensor '{name}' is {dtypeName} {SafeTensor.FormatShape(shape)}, which needs {expected} bytes, but its data_offsets [{begin}, {end}) span {end - begin}: the header is corrupt");
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    private static JsonElement Field(string tensor, JsonElement entry, string field, JsonValueKind kind, Failure fail)
    {
        if (!entry.TryGetProperty(field, out var element)) throw fail.With($"tensor '{tensor}' has no '{field}' field");
        if (element.ValueKind != kind) throw fail.With($"tensor '{tensor}' has a '{field}' that is a JSON {element.ValueKind}, not a {kind}");
        return element;
    }

    private static long NonNegativeInteger(string tensor, string what, JsonElement element, Failure fail)
    {
        if (element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out long v) && v >= 0) return v;
        throw fail.With($"tensor '{tensor}' has {what} = {element.GetRawText()}, not a non-negative integer");
    }

    /// <summary>Sorted by offset, the tensors must start at 0, follow each other without gap or
    /// overlap, and end exactly at the end of the file (the reference reader's rules).</summary>
    private static void CheckTiling(List<Entry> entries, long dataLength, Failure fail)
    {
        // Stable sort: empty tensors sharing an offset keep header order.
        var sorted = entries.OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
        entries.Clear();
        entries.AddRange(sorted);

        long covered = 0;
        Entry? previous = null;
        foreach (var e in entries)
        {
            if (e.Begin < covered)
            {
                throw fail.With($"tensor '{e.Name}' claims bytes [{e.Begin}, {e.End}), overlapping tensor '{previous!.Name}' at [{previous.Begin}, {previous.End}): the header is corrupt");
            }
            if (e.Begin > covered)
            {
                throw fail.With($"bytes [{covered}, {e.Begin}) of the data section belong to no tensor (a gap before tensor '{e.Name}'): the header is corrupt");
            }
            if (e.End > dataLength)
            {
                throw fail.With($"tensor '{e.Name}' claims bytes [{e.Begin}, {e.End}) but the data section is {dataLength} bytes: the file is truncated or corrupt");
            }
            covered = e.End;
            previous = e;
        }
        if (covered != dataLength)
        {
            throw fail.With($"the tensors cover {covered} bytes but the data section is {dataLength} bytes: {dataLength - covered} trailing bytes belong to no tensor, which the format does not allow; the file is corrupt");
        }
    }

    /// <summary>Builds the "checkpoint NAME: problem" exceptions.</summary>
    private readonly struct Failure(string displayName)
    {
        public CheckpointException With(string problem) => new($"checkpoint {displayName}: {problem}");

        public CheckpointException With(string problem, Exception inner) => new($"checkpoint {displayName}: {problem}", inner);
    }
}
