using Igcv3.Tests.Support;
using System.Globalization;
using System.Text.RegularExpressions;
using Igcv3.Train.Logging;
using Xunit;

namespace Igcv3.Tests.Train;

public class LearningCurvePageTests
{
    private static EpochMetrics Epoch(int e, double trainLoss, double? testTop1) =>
        new(e, 0.1 * Math.Pow(0.98, e), trainLoss, 100 - 50 * trainLoss, testTop1 is null ? null : trainLoss * 1.1, testTop1, testTop1 + 10, 1000, 30);

    /// <summary>The (x, y) points of the polyline for <paramref name="series"/>.</summary>
    private static (double X, double Y)[] Points(string html, string series)
    {
        var match = Regex.Match(html, $"<polyline data-series=\"{Regex.Escape(series)}\"[^>]* points=\"([^\"]*)\"");
        Assert.True(match.Success, $"no polyline for {series}");
        return match.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split(','))
            .Select(p => (double.Parse(p[0], CultureInfo.InvariantCulture), double.Parse(p[1], CultureInfo.InvariantCulture)))
            .ToArray();
    }

    [Fact]
    public void Page_IsSelfContained_WithOnePointPerEpochAndTheValuesInOrder()
    {
        using var folder = new TempFolder();
        string path = folder.File("curves.html");
        var page = new LearningCurvePage(path, "IGCV3 <cifar10>");
        double[] losses = [1.9, 1.2, 1.4, 0.8, 0.5];
        double?[] top1 = [30, null, 55, 61.5, 70];

        for (int e = 0; e < losses.Length; e++) page.Write(Epoch(e + 1, losses[e], top1[e]));
        string html = File.ReadAllText(path);

        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.Contains("IGCV3 &lt;cifar10&gt;", html);
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("src=", html);
        Assert.DoesNotContain("href=", html);
        Assert.Equal(3, Regex.Matches(html, "<svg ").Count);

        var train = Points(html, "train loss");
        Assert.Equal(5, train.Length);
        for (int i = 1; i < train.Length; i++) Assert.True(train[i].X > train[i - 1].X);
        // Higher values are drawn higher (smaller SVG y): the y order is the reverse of the value order.
        for (int i = 0; i < losses.Length; i++)
            for (int j = 0; j < losses.Length; j++)
                Assert.Equal(Math.Sign(losses[i] - losses[j]), Math.Sign(train[j].Y - train[i].Y));

        var test = Points(html, "test top-1");
        Assert.Equal(4, test.Length); // the unevaluated epoch is skipped
        Assert.True(test[0].Y > test[1].Y && test[1].Y > test[2].Y && test[2].Y > test[3].Y);
        Assert.Contains("best test top-1 70% at epoch 5", html);
        Assert.Equal(["curves.html"], folder.Entries()); // written atomically: no temp files left
    }

    [Fact]
    public void AccuracyAxisRunsFrom0To100_SoEqualValuesAcrossPagesDrawAlike()
    {
        string a = LearningCurvePage.Render("a", [Epoch(1, 1.0, 50), Epoch(2, 0.9, 60)]);
        string b = LearningCurvePage.Render("b", [Epoch(1, 1.0, 50), Epoch(2, 0.5, 90)]);
        Assert.Equal(Points(a, "test top-1")[0], Points(b, "test top-1")[0]);
        // The loss axis, by contrast, is scaled to the data: the same loss of 1.0 is drawn lower when c's larger values share the axis.
        string c = LearningCurvePage.Render("c", [Epoch(1, 1.0, 50), Epoch(2, 3.0, 60)]);
        Assert.True(Points(c, "train loss")[0].Y > Points(a, "train loss")[0].Y);
    }

    [Fact]
    public void ResumedRun_RedoingAnEpoch_ReplacesItAndLaterOnes()
    {
        using var folder = new TempFolder();
        string path = folder.File("curves.html");
        var page = new LearningCurvePage(path, "run", [Epoch(1, 2.0, 10), Epoch(2, 1.5, 20), Epoch(3, 1.0, 30)]);

        page.Write(Epoch(2, 1.4, 25));

        Assert.Equal(2, Points(File.ReadAllText(path), "train loss").Length);
    }

    [Fact]
    public void AOneEpochRun_ShowsItsPointsAsMarkers()
    {
        string html = LearningCurvePage.Render("one epoch", [Epoch(1, 1.0, 50)]);
        Assert.Matches("<circle data-series=\"train loss\" cx=\"[0-9.]+\" cy=\"[0-9.]+\"", html);
        Assert.Matches("<circle data-series=\"test top-1\" ", html);
    }

    [Fact]
    public void PerStepLosses_DrawPointsWithinTheFirstEpoch()
    {
        (double, double)[] steps = [(0.25, 2.0), (0.5, 1.8), (0.75, 1.6), (1.0, 1.5)];
        string html = LearningCurvePage.Render("one epoch", [Epoch(1, 1.7, 50)], steps);
        var perStep = Points(html, "train loss (steps)");
        Assert.Equal(4, perStep.Length);
        Assert.True(perStep[0].X < perStep[1].X && perStep[1].Y > perStep[0].Y); // a lower loss is drawn lower
        Assert.Equal(Points(html, "train loss")[0].X, perStep[3].X); // the epoch's point at its last step
    }

    [Fact]
    public void ManySteps_AreThinnedToAFewHundredPoints_AndPagesRedrawThemAfterAResume()
    {
        using var folder = new TempFolder();
        string path = folder.File("curves.html");
        var page = new LearningCurvePage(path, "run", [], [.. Enumerable.Range(1, 3000).Select(i => (i / 1000.0, 2.0))]);
        page.WriteStep(new StepMetrics(2001, 2.001, 1.0, 0.1, null)); // a resumed run redoing steps from 2001
        page.Write(Epoch(3, 1.7, 50));
        string html = File.ReadAllText(path);
        var perStep = Points(html, "train loss (steps)");
        Assert.InRange(perStep.Length, 100, 600);
        // Steps past 2.001 epochs were dropped: the series ends two thirds of the way to epoch 3.
        double left = Points(html, "train loss (steps)")[0].X, right = Points(html, "train loss")[0].X;
        Assert.InRange((perStep[^1].X - left) / (right - left), 0.6, 0.7);
    }

    [Fact]
    public void EmptyHistory_StillRenders()
    {
        string html = LearningCurvePage.Render("nothing yet", []);
        Assert.Contains("No epochs yet.", html);
        Assert.Empty(Points(html, "train loss"));
    }
}
