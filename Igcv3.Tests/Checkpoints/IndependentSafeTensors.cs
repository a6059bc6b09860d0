using System.Text;
using System.Text.Json;

namespace Igcv3.Tests.Checkpoints;

/// <summary>
/// A deliberately small safetensors parser for the tests, sharing no code with the production
/// reader: it reads the 8-byte length, parses the header with JsonDocument, and hands back each
/// entry with its raw bytes, so tests can check what the writer put in the file independently.
/// </summary>
internal static class IndependentSafeTensors
{
    public sealed record Entry(string DType, long[] Shape, long Begin, long End, byte[] Bytes);

    public sealed record Parsed(long HeaderLength, string HeaderText, Dictionary<string, Entry> Tensors, Dictionary<string, string> Metadata, long DataLength);

    public static Parsed Parse(byte[] file)
    {
        long n = (long)BitConverter.ToUInt64(file, 0);
        string header = Encoding.UTF8.GetString(file, 8, (int)n);
        long dataStart = 8 + n;
        var tensors = new Dictionary<string, Entry>();
        var metadata = new Dictionary<string, string>();
        using var doc = JsonDocument.Parse(header);
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.Name == "__metadata__")
            {
                foreach (var m in p.Value.EnumerateObject()) metadata.Add(m.Name, m.Value.GetString()!);
                continue;
            }
            string dtype = p.Value.GetProperty("dtype").GetString()!;
            long[] shape = p.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            var offsets = p.Value.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            byte[] bytes = file.AsSpan((int)(dataStart + offsets[0]), (int)(offsets[1] - offsets[0])).ToArray();
            tensors.Add(p.Name, new Entry(dtype, shape, offsets[0], offsets[1], bytes));
        }
        return new Parsed(n, header, tensors, metadata, file.Length - dataStart);
    }

    /// <summary>A file assembled by hand: the length, the given header text (optionally space-padded
    /// to 8 bytes), then <paramref name="dataBytes"/> bytes of a 0, 1, 2, ... pattern.</summary>
    public static byte[] Build(string header, int dataBytes, bool pad = true) => Build(Encoding.UTF8.GetBytes(header), dataBytes, pad);

    public static byte[] Build(byte[] header, int dataBytes, bool pad = true)
    {
        var h = header.ToList();
        while (pad && h.Count % 8 != 0) h.Add((byte)' ');
        var file = new List<byte>(BitConverter.GetBytes((ulong)h.Count));
        file.AddRange(h);
        for (int i = 0; i < dataBytes; i++) file.Add((byte)i);
        return file.ToArray();
    }
}
