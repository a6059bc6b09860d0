using Igcv3.Engine.IO;
using Igcv3.Train.Commands;
using Igcv3.Train.Logging;

namespace Igcv3.Train.Training;

/// <summary>
/// The files of a run in its output folder, and the two ways of taking a folder: a new run
/// (refused where the folder already holds a checkpoint, so nothing is overwritten) and a resumed
/// run (the per-epoch and per-step logs cut back to the checkpoint being resumed).
/// </summary>
public sealed class RunFiles(string folder)
{
    public string Folder { get; } = folder;
    public string Config => Path.Combine(Folder, "config.json");
    public string MetricsCsv => Path.Combine(Folder, "metrics.csv");
    public string MetricsJsonl => Path.Combine(Folder, "metrics.jsonl");
    public string Steps => Path.Combine(Folder, "steps.csv");
    public string Curves => Path.Combine(Folder, "curves.html");
    public string TensorBoard => Path.Combine(Folder, "tensorboard");
    public string Last => Path.Combine(Folder, "last.safetensors");
    public string Best => Path.Combine(Folder, "best.safetensors");
    public string Summary => Path.Combine(Folder, "summary.json");

    /// <summary>A folder where a run started but stopped (killed) before its first checkpoint:
    /// its config.json and logs, no last.safetensors. Such a run can only start again.</summary>
    public bool StoppedBeforeFirstCheckpoint => File.Exists(Config) && !File.Exists(Last);

    /// <summary>Makes sure the folder can take a new run and writes config.json, the first file of
    /// the run. A run there that stopped before its first checkpoint is cleared away (its own files
    /// only); returns the line that says so, or null.</summary>
    public string? PrepareNew(string configJson)
    {
        if (File.Exists(Last))
            throw new OutputFolderException($"output folder {Folder} already holds a run (last.safetensors); continue it with --resume {Folder}, or choose another --output");
        return Writable(() =>
        {
            Directory.CreateDirectory(Folder);
            RemoveTemporaryFiles();
            var stale = new[] { Config, MetricsCsv, MetricsJsonl, Steps, Curves, Summary, Best }.Where(File.Exists).ToList();
            if (Directory.Exists(TensorBoard)) stale.AddRange(Directory.GetFiles(TensorBoard, "events.out.tfevents.*"));
            foreach (string file in stale) File.Delete(file);
            AtomicFile.WriteAllText(Config, configJson);
            return stale.Count == 0 ? null : $"output folder {Folder} holds a run that stopped before its first checkpoint: starting afresh in it";
        });
    }

    /// <summary>Removes what an atomic write cut short by a kill left behind (see <see cref="AtomicFile.TempPathFor"/>).</summary>
    private void RemoveTemporaryFiles()
    {
        foreach (string file in Directory.GetFiles(Folder).Where(f => AtomicFile.IsTempName(Path.GetFileName(f)))) File.Delete(file);
    }

    /// <summary>Cuts the logs back to what the checkpoint being resumed had seen: the first
    /// <paramref name="completedEpochs"/> epochs and the first <paramref name="stepsDone"/> steps.</summary>
    public void PrepareResume(string configJson, int completedEpochs, long stepsDone) => Writable(() =>
    {
        Directory.CreateDirectory(Folder);
        RemoveTemporaryFiles();
        AtomicFile.WriteAllText(Config, configJson);
        if (File.Exists(MetricsCsv)) Logging.MetricsCsv.TruncateAfter(MetricsCsv, completedEpochs);
        if (File.Exists(MetricsJsonl)) Logging.MetricsJsonl.TruncateAfter(MetricsJsonl, completedEpochs);
        StepLog.TruncateAfter(Steps, stepsDone);
        TensorBoardWriter.TruncateAfter(TensorBoard, completedEpochs, stepsDone);
    });

    /// <summary>The per-epoch sinks: CSV, JSONL, TensorBoard events, the curves page (redrawn from
    /// the earlier epochs and steps of metrics.csv and steps.csv).</summary>
    public List<IMetricsSink> OpenSinks(string title, int stepsPerEpoch) => Writable(() =>
    {
        var earlier = File.Exists(MetricsCsv) ? Logging.MetricsCsv.Read(MetricsCsv) : [];
        var earlierSteps = File.Exists(Steps) ? StepLog.ReadEpochLosses(Steps, stepsPerEpoch) : [];
        return new List<IMetricsSink>
        {
            new MetricsCsv(MetricsCsv),
            new MetricsJsonl(MetricsJsonl),
            new TensorBoardWriter(TensorBoard, append: true),
            new LearningCurvePage(Curves, title, earlier, earlierSteps),
        };
    });

    private void Writable(Action action) => Writable(() => { action(); return 0; });

    private T Writable<T>(Func<T> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException && e is not Igcv3.Engine.Checkpoints.CheckpointException)
        {
            throw new OutputFolderException($"cannot write to output folder {Folder}: {e.Message}; choose another --output", e);
        }
    }
}
