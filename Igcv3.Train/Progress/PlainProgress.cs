using System.Globalization;

namespace Igcv3.Train.Progress;

/// <summary>
/// Progress as plain lines: about ten per epoch (and the last step), each with loss, accuracy,
/// images/s and the time left in the epoch.
/// </summary>
public sealed class PlainProgress(TextWriter output, int linesPerEpoch = 10) : IProgressReporter
{
    public void RunEpoch(string title, int totalSteps, int firstStep, Action<IEpochProgress> body) =>
        body(new Epoch(output, title, totalSteps, linesPerEpoch));

    public void Line(string text) => output.WriteLine(text);

    private sealed class Epoch(TextWriter output, string title, int totalSteps, int lines) : IEpochProgress
    {
        private readonly int _every = Math.Max(1, totalSteps / Math.Max(1, lines));

        public void Update(StepProgress p)
        {
            if (p.StepsDone % _every != 0 && p.StepsDone != p.TotalSteps) return;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{title} [{p.StepsDone,5}/{p.TotalSteps}] loss {p.Loss:F4}  acc {p.Top1,5:F1}%  {p.ImagesPerSecond,7:F0} img/s  eta {Format(p.Eta)}"));
        }
    }

    public static string Format(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t:mm\\:ss}" : t.ToString(@"m\:ss", CultureInfo.InvariantCulture);
}
