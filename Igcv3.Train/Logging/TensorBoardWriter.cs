using Igcv3.Engine.IO;

namespace Igcv3.Train.Logging;

/// <summary>
/// Writes a TensorBoard event file, events.out.tfevents.&lt;unix-seconds&gt;.&lt;hostname&gt;, in
/// <c>logDir</c>: TFRecord-framed Event protos, the first carrying the file version, then one
/// summary of scalars per call. Flushed after every call, so TensorBoard sees each epoch as it ends.
/// A resumed run continues the run's newest file (<c>append</c>) after <see cref="TruncateAfter"/>
/// has cut it back to the checkpoint, so each epoch and step appears once, in one series.
/// </summary>
public sealed class TensorBoardWriter : IMetricsSink
{
    private readonly FileStream _stream;
    private readonly Func<DateTimeOffset> _clock;

    public TensorBoardWriter(string logDir, Func<DateTimeOffset>? clock = null, string? hostName = null, bool append = false)
    {
        _clock = clock ?? (() => DateTimeOffset.UtcNow);
        Directory.CreateDirectory(logDir);
        if (append && EventFiles(logDir).Order(StringComparer.Ordinal).LastOrDefault() is { } newest)
        {
            FilePath = newest;
            _stream = new FileStream(newest, FileMode.Append, FileAccess.Write, FileShare.Read);
            return;
        }
        string baseName = $"events.out.tfevents.{_clock().ToUnixTimeSeconds()}.{hostName ?? Environment.MachineName}";
        // Two writers started in the same second on one host would collide: number the later ones.
        string path = Path.Combine(logDir, baseName);
        for (int n = 1; File.Exists(path); n++) path = Path.Combine(logDir, $"{baseName}.{n}");
        FilePath = path;
        _stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        Append(new TensorBoardEvent(WallTime(), 0, TensorBoardEvent.CurrentFileVersion, []));
    }

    public string FilePath { get; }

    private static string[] EventFiles(string logDir) => Directory.GetFiles(logDir, "events.out.tfevents.*");

    /// <summary>Cuts the event files of <paramref name="logDir"/> back to what a checkpoint being
    /// resumed had seen: epoch scalars up to <paramref name="completedEpochs"/>, step scalars
    /// (step/...) up to <paramref name="stepsDone"/>; a record a kill cut short is dropped too.</summary>
    public static void TruncateAfter(string logDir, int completedEpochs, long stepsDone)
    {
        if (!Directory.Exists(logDir)) return;
        bool Keep(TensorBoardEvent e) => e.FileVersion is not null
            || e.Step <= (e.Scalars.Any(s => s.Tag.StartsWith("step/", StringComparison.Ordinal)) ? stepsDone : completedEpochs);
        foreach (string file in EventFiles(logDir))
        {
            var kept = TfRecord.ReadAll(File.ReadAllBytes(file), Path.GetFileName(file), upToDamage: true).Where(r => Keep(TensorBoardEvent.Decode(r))).ToList();
            AtomicFile.Write(file, stream => { foreach (var record in kept) TfRecord.Write(stream, record); });
        }
    }

    /// <summary>Writes one event holding all of <paramref name="scalars"/> at <paramref name="step"/>.</summary>
    public void AddScalars(long step, IEnumerable<ScalarValue> scalars) =>
        Append(new TensorBoardEvent(WallTime(), step, null, scalars.ToArray()));

    public void AddScalar(string tag, float value, long step) => AddScalars(step, [new ScalarValue(tag, value)]);

    /// <summary>
    /// An epoch's metrics as scalars at step = epoch: loss/train, loss/test, accuracy/train_top1,
    /// accuracy/test_top1, accuracy/test_top5, lr, throughput/images_per_s, time/epoch_seconds
    /// (test tags only for evaluated epochs).
    /// </summary>
    public void Write(EpochMetrics m)
    {
        var scalars = new List<ScalarValue>
        {
            new("loss/train", (float)m.TrainLoss),
            new("accuracy/train_top1", (float)m.TrainTop1),
            new("lr", (float)m.LearningRate),
            new("throughput/images_per_s", (float)m.ImagesPerSecond),
            new("time/epoch_seconds", (float)m.Seconds),
        };
        if (m.TestLoss is { } testLoss) scalars.Add(new("loss/test", (float)testLoss));
        if (m.TestTop1 is { } top1) scalars.Add(new("accuracy/test_top1", (float)top1));
        if (m.TestTop5 is { } top5) scalars.Add(new("accuracy/test_top5", (float)top5));
        AddScalars(m.Epoch, scalars);
    }

    /// <summary>A step's scalars at step = the global step: step/loss, step/lr and, at the last
    /// step of each read, step/images_per_s. Written through to the system, not flushed to disk.</summary>
    public void WriteStep(StepMetrics step)
    {
        var scalars = new List<ScalarValue> { new("step/loss", (float)step.Loss), new("step/lr", (float)step.LearningRate) };
        if (step.ImagesPerSecond is { } rate) scalars.Add(new("step/images_per_s", (float)rate));
        Append(new TensorBoardEvent(WallTime(), step.Step, null, scalars.ToArray()), toDisk: false);
    }

    public void Dispose() => _stream.Dispose();

    private double WallTime() => _clock().ToUnixTimeMilliseconds() / 1000.0;

    private void Append(TensorBoardEvent e, bool toDisk = true)
    {
        TfRecord.Write(_stream, e.Encode());
        _stream.Flush(flushToDisk: toDisk);
    }
}
