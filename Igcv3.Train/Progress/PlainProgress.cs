using System.Globalization;

namespace Igcv3.Train.Progress;

/// <summary>
/// Progress as plain lines, for a log file or a job's output: each with loss, accuracy, images/s
/// and the time left in the epoch, at the first step of an epoch, then every <c>interval</c>
/// (30 s by default) of wall time however long the epoch is, and at its last step.
/// </summary>
public sealed class PlainProgress(TextWriter output, TimeProvider? time = null, TimeSpan? interval = null) : IProgressReporter
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly TimeSpan _interval = interval ?? TimeSpan.FromSeconds(30);
    private readonly TextWriter _output = output;

    public void RunEpoch(string title, int totalSteps, int firstStep, Action<IEpochProgress> body) =>
        body(new Epoch(this, title));

    public void Line(string text) => _output.WriteLine(text);

    private sealed class Epoch(PlainProgress progress, string title) : IEpochProgress
    {
        private long? _lastLine;

        public void Update(StepProgress p)
        {
            if (_lastLine is { } last && progress._time.GetElapsedTime(last) < progress._interval && p.StepsDone != p.TotalSteps) return;
            _lastLine = progress._time.GetTimestamp();
            progress._output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{title} [{p.StepsDone,5}/{p.TotalSteps}] loss {p.Loss:F4}  acc {p.Top1,5:F1}%  {p.ImagesPerSecond,7:F0} img/s  eta {Format(p.Eta)}{p.LoaderText}"));
        }
    }

    public static string Format(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t:mm\\:ss}" : t.ToString(@"m\:ss", CultureInfo.InvariantCulture);
}
