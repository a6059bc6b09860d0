using System.Text;
using System.Text.Json;
using Igcv3.Engine.IO;

namespace Igcv3.Train.Logging;

/// <summary>
/// Per-epoch metrics as JSON Lines: one object per line with snake_case names, appended and flushed
/// at each write. A missing test value is null; a non-finite number (a diverged loss) is written as
/// the string "NaN" / "Infinity" / "-Infinity", System.Text.Json's named-literal convention, since
/// JSON has no such numbers.
/// </summary>
public sealed class MetricsJsonl : IMetricsSink
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private readonly FileStream _stream;

    public MetricsJsonl(string path)
    {
        Path = path;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        _stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
    }

    public string Path { get; }

    public void Write(EpochMetrics metrics)
    {
        _stream.Write(Encoding.UTF8.GetBytes(Format(metrics) + "\n"));
        _stream.Flush(flushToDisk: true);
    }

    /// <summary>One line, without the newline: {"epoch":..,"lr":..,"train_loss":.., ...}.</summary>
    public static string Format(EpochMetrics m) => JsonSerializer.Serialize(new Line(m.Epoch, m.LearningRate, m.TrainLoss, m.TrainTop1,
        m.TestLoss, m.TestTop1, m.TestTop5, m.ImagesPerSecond, m.Seconds), Options);

    public static List<EpochMetrics> Read(string path) =>
        File.ReadLines(path).Where(line => line.Length > 0).Select(Parse).ToList();

    public static EpochMetrics Parse(string line)
    {
        var l = JsonSerializer.Deserialize<Line>(line, Options) ?? throw new JsonException($"metrics line '{line}' is null");
        return new EpochMetrics(l.Epoch, l.Lr, l.TrainLoss, l.TrainTop1, l.TestLoss, l.TestTop1, l.TestTop5, l.ImagesPerS, l.Seconds);
    }

    /// <summary>Drops lines after <paramref name="lastEpoch"/>, atomically (see <see cref="MetricsCsv.TruncateAfter"/>).</summary>
    public static void TruncateAfter(string path, int lastEpoch)
    {
        var kept = Read(path).Where(m => m.Epoch <= lastEpoch).Select(m => Format(m) + "\n");
        AtomicFile.WriteAllText(path, string.Concat(kept));
    }

    public void Dispose() => _stream.Dispose();

    /// <summary>The JSON shape; its property names give the columns (lr and images_per_s short, like the CSV).</summary>
    private sealed record Line(int Epoch, double Lr, double TrainLoss, double TrainTop1, double? TestLoss, double? TestTop1,
        double? TestTop5, double ImagesPerS, double Seconds);
}
