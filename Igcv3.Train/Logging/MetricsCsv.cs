using System.Globalization;
using Igcv3.Engine.IO;

namespace Igcv3.Train.Logging;

/// <summary>
/// Per-epoch metrics as CSV, one row per epoch, appended and flushed at each write so that a crash
/// loses nothing already reported. Numbers are invariant-culture, shortest round-trip form; a
/// missing test value is an empty field.
/// </summary>
public sealed class MetricsCsv : IMetricsSink
{
    public const string Header = "epoch,lr,train_loss,train_top1,test_loss,test_top1,test_top5,images_per_s,seconds";

    private readonly FileStream _stream;
    private readonly StreamWriter _writer;

    /// <summary>Opens <paramref name="path"/> for appending; a new or empty file gets the header first.</summary>
    public MetricsCsv(string path)
    {
        Path = path;
        if (File.Exists(path) && new FileInfo(path).Length > 0)
        {
            string? first = File.ReadLines(path).FirstOrDefault();
            if (first != Header)
                throw new IOException($"{path} starts with '{first}', not the metrics header '{Header}'; move it away or log to another folder");
        }
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        _stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        _writer = new StreamWriter(_stream, new System.Text.UTF8Encoding(false)) { NewLine = "\n" };
        if (_stream.Length == 0) WriteLineFlushed(Header);
    }

    public string Path { get; }

    public void Write(EpochMetrics m) => WriteLineFlushed(Format(m));

    public static string Format(EpochMetrics m) => string.Join(',',
        m.Epoch.ToString(CultureInfo.InvariantCulture), Number(m.LearningRate), Number(m.TrainLoss), Number(m.TrainTop1),
        Number(m.TestLoss), Number(m.TestTop1), Number(m.TestTop5), Number(m.ImagesPerSecond), Number(m.Seconds));

    /// <summary>Reads back every row (for resuming: the curves page is redrawn from it).</summary>
    public static List<EpochMetrics> Read(string path)
    {
        var rows = new List<EpochMetrics>();
        int line = 0;
        foreach (string text in File.ReadLines(path))
        {
            line++;
            if (line == 1)
            {
                if (text != Header) throw new IOException($"{path}: line 1 is '{text}', not the metrics header '{Header}'");
                continue;
            }
            if (text.Length == 0) continue;
            string[] f = text.Split(',');
            if (f.Length != 9) throw new IOException($"{path}: line {line} has {f.Length} fields, expected 9");
            rows.Add(new EpochMetrics(int.Parse(f[0], CultureInfo.InvariantCulture), Parse(f[1]), Parse(f[2]), Parse(f[3]),
                ParseOptional(f[4]), ParseOptional(f[5]), ParseOptional(f[6]), Parse(f[7]), Parse(f[8])));
        }
        return rows;
    }

    /// <summary>
    /// Drops rows after <paramref name="lastEpoch"/>, atomically: a run resumed from the checkpoint
    /// of that epoch must not keep rows of epochs it is about to redo.
    /// </summary>
    public static void TruncateAfter(string path, int lastEpoch)
    {
        var kept = Read(path).Where(m => m.Epoch <= lastEpoch).Select(Format);
        AtomicFile.WriteAllText(path, string.Join('\n', kept.Prepend(Header)) + "\n");
    }

    public void Dispose()
    {
        _writer.Dispose();
        _stream.Dispose();
    }

    private void WriteLineFlushed(string line)
    {
        _writer.WriteLine(line);
        _writer.Flush();
        _stream.Flush(flushToDisk: true);
    }

    private static string Number(double? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "";

    private static double Parse(string field) => double.Parse(field, NumberStyles.Float, CultureInfo.InvariantCulture);

    private static double? ParseOptional(string field) => field.Length == 0 ? null : Parse(field);
}
