using System.Globalization;
using Spectre.Console;

namespace Igcv3.Train.Progress;

/// <summary>A live Spectre.Console bar per epoch: loss, accuracy and images/s in the description, then percent and time left.</summary>
public sealed class SpectreProgress(IAnsiConsole console) : IProgressReporter
{
    public void RunEpoch(string title, int totalSteps, int firstStep, Action<IEpochProgress> body)
    {
        console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new RemainingTimeColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask(Markup.Escape(title), maxValue: Math.Max(1, totalSteps));
                task.Value = firstStep;
                body(new Epoch(task, title));
                task.Value = task.MaxValue;
            });
    }

    public void Line(string text) => console.WriteLine(text);

    private sealed class Epoch(ProgressTask task, string title) : IEpochProgress
    {
        public void Update(StepProgress p)
        {
            task.Value = p.StepsDone;
            task.Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                $"{title}  loss {p.Loss:F4}  acc {p.Top1:F1}%  {p.ImagesPerSecond:F0} img/s{p.LoaderText}"));
        }
    }
}
