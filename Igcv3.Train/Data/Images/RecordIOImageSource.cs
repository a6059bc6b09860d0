using System.Buffers.Binary;
using System.Globalization;

namespace Igcv3.Train.Data.Images;

/// <summary>
/// An MXNet image RecordIO file as im2rec writes it (the official IGCV3 repository's prepared
/// ImageNet): each record is an IRHeader {uint32 flag; float32 label; uint64 id; uint64 id2}
/// (24 bytes, little-endian), then, when flag &gt; 0, flag float32 labels (the header's label is then
/// unused), then the encoded image. The class is the label (the first extra label when flag &gt; 0)
/// as an integer. Records are found through the .idx beside the .rec (lines "key\toffset", as
/// MXIndexedRecordIO writes), or by walking the file when there is none.
/// </summary>
public sealed class RecordIOImageSource : IImageSource, IDisposable
{
    public const int HeaderSize = 24;

    private readonly RecordIOFile _file;
    private readonly long[] _offsets;
    private readonly int[] _labels;

    private RecordIOImageSource(string name, RecordIOFile file, long[] offsets, int[] labels, string[] classNames)
    {
        Name = name;
        _file = file;
        _offsets = offsets;
        _labels = labels;
        ClassNames = classNames;
    }

    public string Name { get; }
    public int Count => _offsets.Length;
    public IReadOnlyList<string> ClassNames { get; }
    public int Label(int index) => _labels[index];
    public string Describe(int index) => $"{_file.Path} record {index} (byte {_offsets[index]})";

    public byte[] Read(int index)
    {
        byte[] record;
        try
        {
            record = _file.Read(_offsets[index]).Data;
        }
        catch (DataException e)
        {
            throw new CorruptImageException(Describe(index), e.Message);
        }
        int skip = HeaderSize + 4 * (int)Math.Min(Flag(record), int.MaxValue / 8);
        if (record.Length < skip) throw new CorruptImageException(Describe(index), $"a {record.Length}-byte record is shorter than its header");
        return record[skip..];
    }

    /// <summary>
    /// Opens <paramref name="recPath"/> and reads every record's label. The classes are 0 ..
    /// max(label, <paramref name="minClasses"/> - 1), named by number (RecordIO holds no names).
    /// </summary>
    public static RecordIOImageSource Open(string recPath, string name, int minClasses = 0)
    {
        var file = new RecordIOFile(recPath);
        try
        {
            string idx = Path.ChangeExtension(recPath, ".idx");
            var offsets = File.Exists(idx) ? ReadIndex(idx, file) : file.ScanOffsets();
            if (offsets.Count == 0) throw new DataException($"{name}: RecordIO file {Path.GetFullPath(recPath)} holds no records");
            var labels = new int[offsets.Count];
            int maxLabel = -1;
            for (int i = 0; i < offsets.Count; i++)
            {
                var start = file.ReadStart(offsets[i], HeaderSize + 4);
                labels[i] = LabelOf(start, recPath, i);
                maxLabel = Math.Max(maxLabel, labels[i]);
            }
            int classes = Math.Max(maxLabel + 1, minClasses);
            var classNames = Enumerable.Range(0, classes).Select(k => k.ToString(CultureInfo.InvariantCulture)).ToArray();
            return new RecordIOImageSource($"{name} (RecordIO {Path.GetFullPath(recPath)})", file, [.. offsets], labels, classNames);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static uint Flag(ReadOnlySpan<byte> record) => record.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(record) : 0;

    private static int LabelOf(byte[] start, string recPath, int index)
    {
        if (start.Length < HeaderSize) throw new DataException($"RecordIO file {Path.GetFullPath(recPath)}, record {index}: {start.Length} bytes, shorter than the 24-byte image header");
        uint flag = Flag(start);
        float label = flag > 0
            ? (start.Length >= HeaderSize + 4 ? BinaryPrimitives.ReadSingleLittleEndian(start.AsSpan(HeaderSize)) : float.NaN)
            : BinaryPrimitives.ReadSingleLittleEndian(start.AsSpan(4));
        if (!(label >= 0) || label != MathF.Floor(label) || label > 1_000_000)
            throw new DataException($"RecordIO file {Path.GetFullPath(recPath)}, record {index}: label {label} is not a class index (a whole number >= 0)");
        return (int)label;
    }

    /// <summary>The offsets of an .idx, in the order of its lines (im2rec writes them in key order).</summary>
    private static List<long> ReadIndex(string idx, RecordIOFile file)
    {
        var offsets = new List<long>();
        int line = 0;
        foreach (var text in File.ReadLines(idx))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            var fields = text.Split('\t');
            if (fields.Length < 2 || !long.TryParse(fields[1].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long offset) || offset >= file.Length)
                throw new DataException($"index {Path.GetFullPath(idx)}, line {line}: expected 'key<TAB>offset' with an offset inside the {file.Length}-byte .rec, got '{text}'; delete the .idx to have the .rec walked instead");
            offsets.Add(offset);
        }
        return offsets;
    }

    public void Dispose() => _file.Dispose();
}
