using Igcv3.Train.Progress;
using Spectre.Console;
using Xunit;

namespace Igcv3.Tests.Train;

/// <summary>What the per-epoch progress shows: the running loss, accuracy and images/s beside the
/// epoch's title, on the live Spectre bar and on the plain lines used when output is redirected.</summary>
public class ProgressTests
{
    private static void ThreeSteps(IProgressReporter progress) =>
        progress.RunEpoch("epoch 2/5", totalSteps: 3, firstStep: 0, epoch =>
        {
            epoch.Update(new StepProgress(1, 3, 2.5, 10.0, 100, TimeSpan.FromSeconds(20)));
            epoch.Update(new StepProgress(2, 3, 1.75, 37.5, 250, TimeSpan.FromSeconds(10)));
            epoch.Update(new StepProgress(3, 3, 1.23456, 50.0, 333.3, TimeSpan.Zero));
        });

    [Fact]
    public void SpectreBar_ShowsLossAccuracyAndImagesPerSecond()
    {
        var text = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Yes, // a live bar needs a terminal that takes cursor movements
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.Yes,
            Out = new AnsiConsoleOutput(text),
        });
        console.Profile.Width = 160;

        ThreeSteps(new SpectreProgress(console));

        // What the terminal shows, without the control sequences that redraw the bar.
        string shown = System.Text.RegularExpressions.Regex.Replace(text.ToString(), @"\x1b\[[0-9;?]*[A-Za-z]", "");
        Assert.Contains("epoch 2/5  loss 1.2346  acc 50.0%  333 img/s", shown);
        Assert.Contains("100%", shown);
    }

    [Fact]
    public void PlainLines_ShowTheSameFigures()
    {
        var text = new StringWriter();
        ThreeSteps(new PlainProgress(text));
        string[] lines = text.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length); // the first step and the last: no 30 s passed between
        Assert.Equal("epoch 2/5 [    1/3] loss 2.5000  acc  10.0%      100 img/s  eta 0:20", lines[0]);
        Assert.Equal("epoch 2/5 [    3/3] loss 1.2346  acc  50.0%      333 img/s  eta 0:00", lines[1]);
    }

    [Fact]
    public void PlainLines_ComeEveryThirtySeconds_WhateverTheEpochsLength()
    {
        var text = new StringWriter();
        var clock = new ManualClock();
        new PlainProgress(text, clock).RunEpoch("epoch 1/1", totalSteps: 1000, firstStep: 0, epoch =>
        {
            for (int step = 1; step <= 1000; step++)
            {
                clock.Now += TimeSpan.FromSeconds(0.1); // 100 s in all
                epoch.Update(new StepProgress(step, 1000, 1, 1, 1, TimeSpan.Zero));
            }
        });
        var shown = text.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => System.Text.RegularExpressions.Regex.Match(l, @"\[ *([0-9]+)/").Groups[1].Value);
        Assert.Equal(["1", "301", "601", "901", "1000"], shown);
    }

    private sealed class ManualClock : TimeProvider
    {
        public TimeSpan Now { get; set; }

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Now.Ticks;
    }
}
