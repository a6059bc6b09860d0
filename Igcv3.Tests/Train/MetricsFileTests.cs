using Igcv3.Tests.Support;
using System.Text.Json;
using Igcv3.Train.Logging;
using Xunit;

namespace Igcv3.Tests.Train;

public class MetricsFileTests
{
    private static readonly EpochMetrics Epoch1 = new(1, 0.1, 2.25, 18.5, 1.875, 25.0, 77.5, 1234.5, 41.25);
    private static readonly EpochMetrics Epoch2 = new(2, 0.098, 1.5, 40.125, null, null, null, 1300, 40);
    private static readonly EpochMetrics Epoch3 = new(3, 0.09604, double.NaN, 10, 2.5, 30.5, 80.25, 1e5, 0.5);

    /// <summary>Reads a file another handle still has open for writing.</summary>
    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return new StreamReader(stream).ReadToEnd();
    }

    [Fact]
    public void Csv_WritesHeaderThenOneFlushedRowPerEpoch()
    {
        using var folder = new TempFolder();
        string path = folder.File("metrics.csv");
        using var csv = new MetricsCsv(path);

        csv.Write(Epoch1);
        Assert.Equal(MetricsCsv.Header + "\n1,0.1,2.25,18.5,1.875,25,77.5,1234.5,41.25\n", ReadShared(path)); // flushed before dispose
        csv.Write(Epoch2);
        Assert.EndsWith("\n2,0.098,1.5,40.125,,,,1300,40\n", ReadShared(path));
    }

    [Fact]
    public void Csv_ReopenAppendsWithoutASecondHeader_AndReadsBackEveryValue()
    {
        using var folder = new TempFolder();
        string path = folder.File("metrics.csv");
        using (var csv = new MetricsCsv(path)) csv.Write(Epoch1);
        using (var csv = new MetricsCsv(path))
        {
            csv.Write(Epoch2);
            csv.Write(Epoch3);
        }

        Assert.Single(File.ReadLines(path), line => line == MetricsCsv.Header);
        var rows = MetricsCsv.Read(path);
        Assert.Equal([Epoch1, Epoch2], rows.Take(2));
        Assert.True(double.IsNaN(rows[2].TrainLoss));
        Assert.Equal(Epoch3 with { TrainLoss = 0 }, rows[2] with { TrainLoss = 0 });
    }

    [Fact]
    public void Csv_RefusesToAppendToAFileWithAnotherHeader()
    {
        using var folder = new TempFolder();
        string path = folder.File("metrics.csv");
        File.WriteAllText(path, "step,loss\n1,2\n");

        var e = Assert.Throws<IOException>(() => new MetricsCsv(path));
        Assert.Contains("not the metrics header", e.Message);
    }

    [Fact]
    public void Csv_TruncateAfter_DropsLaterEpochs()
    {
        using var folder = new TempFolder();
        string path = folder.File("metrics.csv");
        using (var csv = new MetricsCsv(path)) { csv.Write(Epoch1); csv.Write(Epoch2); csv.Write(Epoch3); }

        MetricsCsv.TruncateAfter(path, 1);

        Assert.Equal([Epoch1], MetricsCsv.Read(path));
        Assert.Equal(["metrics.csv"], folder.Entries());
    }

    [Fact]
    public void Jsonl_WritesOneFlushedObjectPerLine_WithSnakeCaseNamesAndNulls()
    {
        using var folder = new TempFolder();
        string path = folder.File("metrics.jsonl");
        using var jsonl = new MetricsJsonl(path);

        jsonl.Write(Epoch1);
        jsonl.Write(Epoch2);
        var lines = ReadShared(path).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(2, lines.Length);
        using var first = JsonDocument.Parse(lines[0]);
        var names = first.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(["epoch", "lr", "train_loss", "train_top1", "test_loss", "test_top1", "test_top5", "images_per_s", "seconds"], names);
        Assert.Equal(1, first.RootElement.GetProperty("epoch").GetInt32());
        Assert.Equal(77.5, first.RootElement.GetProperty("test_top5").GetDouble());
        using var second = JsonDocument.Parse(lines[1]);
        Assert.Equal(JsonValueKind.Null, second.RootElement.GetProperty("test_loss").ValueKind);
    }

    [Fact]
    public void Jsonl_RoundTripsIncludingNaN_AndTruncates()
    {
        using var folder = new TempFolder();
        string path = folder.File("metrics.jsonl");
        using (var jsonl = new MetricsJsonl(path)) { jsonl.Write(Epoch1); jsonl.Write(Epoch2); jsonl.Write(Epoch3); }

        var rows = MetricsJsonl.Read(path);
        Assert.Equal([Epoch1, Epoch2], rows.Take(2));
        Assert.True(double.IsNaN(rows[2].TrainLoss));
        Assert.Contains("\"train_loss\":\"NaN\"", File.ReadAllText(path));

        MetricsJsonl.TruncateAfter(path, 2);
        Assert.Equal([Epoch1, Epoch2], MetricsJsonl.Read(path));
    }
}
