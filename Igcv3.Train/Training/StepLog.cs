using System.Globalization;
using Igcv3.Engine.IO;

namespace Igcv3.Train.Training;

/// <summary>
/// steps.csv: one row per training step (global step, epoch, batch, learning rate, loss,
/// accuracy of the batch), the finest record of a run and what proves a resume exact. Losses are
/// written in round-trip form. The header is there at once and each row is handed to the system
/// as it is written (so `tail -f` follows the run); the file is flushed to disk at every
/// checkpoint, so after a crash it holds at least every step up to the checkpoint a resume would
/// start from.
/// </summary>
public sealed class StepLog : IDisposable
{
    public const string Header = "step,epoch,batch,lr,loss,top1";

    private readonly StreamWriter _writer;

    public StepLog(string path)
    {
        bool fresh = !File.Exists(path) || new FileInfo(path).Length == 0;
        _writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read), new System.Text.UTF8Encoding(false)) { NewLine = "\n", AutoFlush = true };
        if (fresh) _writer.WriteLine(Header);
    }

    private StepLog(StreamWriter writer) => _writer = writer;

    /// <summary>A log that keeps nothing: the data-parallel ranks other than 0.</summary>
    public static StepLog Discard() => new(StreamWriter.Null);

    /// <summary>Epoch and batch 1-based as the user counts them.</summary>
    public void Write(long step, int epoch, int batch, double lr, double loss, double top1) =>
        _writer.WriteLine(string.Join(',', step.ToString(CultureInfo.InvariantCulture), epoch.ToString(CultureInfo.InvariantCulture),
            batch.ToString(CultureInfo.InvariantCulture), lr.ToString("R", CultureInfo.InvariantCulture),
            loss.ToString("R", CultureInfo.InvariantCulture), top1.ToString("R", CultureInfo.InvariantCulture)));

    public void Flush()
    {
        _writer.Flush();
        (_writer.BaseStream as FileStream)?.Flush(flushToDisk: true);
    }

    public void Dispose() => _writer.Dispose();

    /// <summary>(step, loss) of every row.</summary>
    public static List<(long Step, double Loss)> ReadLosses(string path) =>
        Rows(path).Select(f => (long.Parse(f[0], CultureInfo.InvariantCulture), double.Parse(f[4], CultureInfo.InvariantCulture))).ToList();

    /// <summary>(position in epochs, loss) of every row, as the curves page draws them (see <see cref="Logging.StepMetrics"/>).</summary>
    public static List<(double Epoch, double Loss)> ReadEpochLosses(string path, int stepsPerEpoch) =>
        Rows(path).Select(f => (int.Parse(f[1], CultureInfo.InvariantCulture) - 1 + int.Parse(f[2], CultureInfo.InvariantCulture) / (double)stepsPerEpoch,
                                double.Parse(f[4], CultureInfo.InvariantCulture))).ToList();

    /// <summary>The fields of every row after the header.</summary>
    private static IEnumerable<string[]> Rows(string path) => File.ReadLines(path).Skip(1).Where(l => l.Length > 0).Select(l => l.Split(','));

    /// <summary>Keeps the rows of the first <paramref name="stepsDone"/> steps (atomically): a resumed
    /// run redoes the rest. A row cut short (a full disk, a kill mid-write) is dropped.</summary>
    public static void TruncateAfter(string path, long stepsDone)
    {
        if (!File.Exists(path)) return;
        int fields = Header.Split(',').Length;
        var kept = File.ReadLines(path).Skip(1).Where(l => l.Split(',') is var f && f.Length == fields
            && long.TryParse(f[0], CultureInfo.InvariantCulture, out long step) && step <= stepsDone);
        AtomicFile.WriteAllText(path, string.Join('\n', kept.Prepend(Header)) + "\n");
    }
}
