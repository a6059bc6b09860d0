using System.Globalization;
using System.Net;
using System.Text;
using Igcv3.Engine.IO;

namespace Igcv3.Train.Logging;

/// <summary>
/// A self-contained HTML page of the learning curves (loss, and accuracy in percent, against
/// epoch) drawn as inline SVG polylines with a marker at each epoch, so a one-epoch run shows too,
/// and the per-step training loss (thinned to a few hundred points) under the per-epoch one: no
/// scripts, no external files, so it opens anywhere and can be mailed. Rewritten atomically after
/// every epoch, so a browser refresh never sees half a page.
/// </summary>
public sealed class LearningCurvePage : IMetricsSink
{
    private readonly List<EpochMetrics> _history;
    private readonly List<(double Epoch, double Loss)> _steps;

    /// <summary><paramref name="earlier"/>, <paramref name="earlierSteps"/>: epochs and (epoch
    /// position, loss) of steps logged before a resume (read back from metrics.csv and steps.csv).</summary>
    public LearningCurvePage(string path, string title, IEnumerable<EpochMetrics>? earlier = null, IEnumerable<(double Epoch, double Loss)>? earlierSteps = null)
    {
        Path = path;
        Title = title;
        _history = earlier?.ToList() ?? [];
        _steps = earlierSteps?.ToList() ?? [];
    }

    public string Path { get; }
    public string Title { get; }

    public void Write(EpochMetrics metrics)
    {
        // An epoch logged again (a resumed run redoing it) replaces the old entry and anything after it.
        _history.RemoveAll(m => m.Epoch >= metrics.Epoch);
        _history.Add(metrics);
        AtomicFile.WriteAllText(Path, Render(Title, _history, _steps));
    }

    /// <summary>Collects the step's loss, drawn at the next epoch's rewrite; a step redone after a resume replaces it and later ones.</summary>
    public void WriteStep(StepMetrics step)
    {
        while (_steps.Count > 0 && _steps[^1].Epoch >= step.Epoch) _steps.RemoveAt(_steps.Count - 1);
        _steps.Add((step.Epoch, step.Loss));
    }

    public void Dispose() { }

    /// <summary>A named line of a chart: (epoch, value) points, non-finite values skipped; markers at the points of per-epoch lines.</summary>
    private sealed record Line(string Name, string Colour, (double Epoch, double Value)[] Points, bool Markers = true);

    /// <summary>The line of one per-epoch value, missing values skipped.</summary>
    private static Line Series(IReadOnlyList<EpochMetrics> history, string name, string colour, Func<EpochMetrics, double?> value) =>
        new(name, colour, history.Select(m => (Epoch: (double)m.Epoch, Value: value(m))).Where(p => p.Value is not null).Select(p => (p.Epoch, p.Value!.Value)).ToArray());

    /// <summary>Most points a per-step line is drawn with: longer runs are averaged in equal runs of steps.</summary>
    private const int MaxStepPoints = 500;

    private static (double Epoch, double Value)[] Thin(IReadOnlyList<(double Epoch, double Loss)> steps)
    {
        int run = Math.Max(1, (steps.Count + MaxStepPoints - 1) / MaxStepPoints);
        return steps.Chunk(run).Select(c => (c.Average(p => p.Epoch), c.Average(p => p.Loss))).ToArray();
    }

    public static string Render(string title, IReadOnlyList<EpochMetrics> history, IReadOnlyList<(double Epoch, double Loss)>? steps = null)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        html.Append("<title>").Append(WebUtility.HtmlEncode(title)).Append("</title>\n");
        html.Append("<style>body{font-family:sans-serif;margin:24px;color:#222}svg{display:block;margin:8px 0 24px}")
            .Append("text{font-size:12px;fill:#444}.grid{stroke:#ddd}.axis{stroke:#888}</style>\n</head>\n<body>\n");
        html.Append("<h1>").Append(WebUtility.HtmlEncode(title)).Append("</h1>\n");
        html.Append("<p>").Append(WebUtility.HtmlEncode(Summary(history))).Append("</p>\n");

        html.Append("<h2>Loss</h2>\n");
        Line[] loss = [Series(history, "train loss", "#1f77b4", m => m.TrainLoss), Series(history, "test loss", "#d62728", m => m.TestLoss)];
        if (steps is { Count: > 0 }) loss = [new Line("train loss (steps)", "#aec7e8", Thin(steps), Markers: false), .. loss];
        AppendChart(html, "loss", loss, fixedMax: null);
        html.Append("<h2>Accuracy (%)</h2>\n");
        AppendChart(html, "accuracy",
            [Series(history, "train top-1", "#1f77b4", m => m.TrainTop1), Series(history, "test top-1", "#d62728", m => m.TestTop1),
             Series(history, "test top-5", "#2ca02c", m => m.TestTop5)], fixedMax: 100);
        html.Append("<h2>Learning rate</h2>\n");
        AppendChart(html, "lr", [Series(history, "lr", "#9467bd", m => m.LearningRate)], fixedMax: null);
        html.Append("</body>\n</html>\n");
        return html.ToString();
    }

    private static string Summary(IReadOnlyList<EpochMetrics> history)
    {
        if (history.Count == 0) return "No epochs yet.";
        var last = history[^1];
        var text = new StringBuilder($"Epoch {last.Epoch}: train loss {F(last.TrainLoss)}, train top-1 {F(last.TrainTop1)}%");
        if (last.TestTop1 is { } top1) text.Append($", test top-1 {F(top1)}%");
        var best = history.Where(m => m.TestTop1 is not null).MaxBy(m => m.TestTop1);
        if (best is not null) text.Append($"; best test top-1 {F(best.TestTop1!.Value)}% at epoch {best.Epoch}");
        return text.Append('.').ToString();
    }

    // Chart geometry: the plot box inside a Width x Height SVG.
    private const double Width = 720, Height = 300, Left = 64, Right = 150, Top = 12, Bottom = 36;
    private const double PlotWidth = Width - Left - Right, PlotHeight = Height - Top - Bottom;

    /// <summary>
    /// One SVG chart. x = Left + PlotWidth * (epoch - first) / (last - first), first the whole
    /// epoch at or before the first point; y = Top + PlotHeight * (1 - value / max), the value axis
    /// running from 0 to max.
    /// </summary>
    private static void AppendChart(StringBuilder html, string id, Line[] series, double? fixedMax)
    {
        var points = series.Select(s => s.Points.Where(p => double.IsFinite(p.Value)).ToArray()).ToArray();
        var epochs = series.SelectMany(s => s.Points).Select(p => p.Epoch).ToList();
        double firstEpoch = epochs.Count > 0 ? Math.Floor(epochs.Min()) : 0;
        double lastEpoch = epochs.Count > 0 ? epochs.Max() : 1;
        if (lastEpoch == firstEpoch) lastEpoch = firstEpoch + 1;
        double dataMax = points.SelectMany(p => p).Select(p => p.Value).DefaultIfEmpty(1).Max();
        double max = fixedMax ?? NiceCeiling(Math.Max(dataMax, 1e-12));
        double min = Math.Min(0, points.SelectMany(p => p).Select(p => p.Value).DefaultIfEmpty(0).Min());

        double X(double epoch) => Left + PlotWidth * (epoch - firstEpoch) / (lastEpoch - firstEpoch);
        double Y(double value) => Top + PlotHeight * (1 - (value - min) / (max - min));

        html.Append(CultureInfo.InvariantCulture, $"<svg id=\"{id}\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" role=\"img\">\n");
        for (int i = 0; i <= 5; i++)
        {
            double value = min + (max - min) * i / 5;
            html.Append(CultureInfo.InvariantCulture,
                $"<line class=\"grid\" x1=\"{Left}\" y1=\"{C(Y(value))}\" x2=\"{Left + PlotWidth}\" y2=\"{C(Y(value))}\"/>" +
                $"<text x=\"{Left - 6}\" y=\"{C(Y(value) + 4)}\" text-anchor=\"end\">{Tick(value)}</text>\n");
        }
        foreach (double epoch in EpochTicks(firstEpoch, lastEpoch))
            html.Append(CultureInfo.InvariantCulture,
                $"<text x=\"{C(X(epoch))}\" y=\"{Top + PlotHeight + 16}\" text-anchor=\"middle\">{epoch}</text>\n");
        html.Append(CultureInfo.InvariantCulture,
            $"<text x=\"{Left + PlotWidth / 2}\" y=\"{Height - 4}\" text-anchor=\"middle\">epoch</text>\n" +
            $"<rect class=\"axis\" x=\"{Left}\" y=\"{Top}\" width=\"{PlotWidth}\" height=\"{PlotHeight}\" fill=\"none\"/>\n");

        for (int s = 0; s < series.Length; s++)
        {
            string coordinates = string.Join(' ', points[s].Select(p => $"{C(X(p.Epoch))},{C(Y(p.Value))}"));
            html.Append(CultureInfo.InvariantCulture,
                $"<polyline data-series=\"{series[s].Name}\" fill=\"none\" stroke=\"{series[s].Colour}\" stroke-width=\"2\" points=\"{coordinates}\"/>\n");
            if (series[s].Markers)
                foreach (var p in points[s])
                    html.Append(CultureInfo.InvariantCulture, $"<circle data-series=\"{series[s].Name}\" cx=\"{C(X(p.Epoch))}\" cy=\"{C(Y(p.Value))}\" r=\"3\" fill=\"{series[s].Colour}\"/>\n");
            html.Append(CultureInfo.InvariantCulture,
                $"<line x1=\"{Left + PlotWidth + 12}\" y1=\"{Top + 10 + 18 * s}\" x2=\"{Left + PlotWidth + 32}\" y2=\"{Top + 10 + 18 * s}\" stroke=\"{series[s].Colour}\" stroke-width=\"2\"/>" +
                $"<text x=\"{Left + PlotWidth + 38}\" y=\"{Top + 14 + 18 * s}\">{series[s].Name}</text>\n");
        }
        html.Append("</svg>\n");
    }

    /// <summary>1, 2 or 5 times a power of ten, at least <paramref name="value"/>: a round top for the value axis.</summary>
    private static double NiceCeiling(double value)
    {
        double power = Math.Pow(10, Math.Floor(Math.Log10(value)));
        foreach (double step in new[] { 1.0, 2, 5, 10 })
            if (step * power >= value) return step * power;
        return 10 * power;
    }

    /// <summary>At most about 10 whole-epoch ticks.</summary>
    private static IEnumerable<double> EpochTicks(double first, double last)
    {
        double stride = Math.Max(1, Math.Ceiling((last - first) / 10));
        for (double epoch = first; epoch <= last; epoch += stride) yield return epoch;
    }

    private static string C(double coordinate) => coordinate.ToString("0.##", CultureInfo.InvariantCulture);

    private static string F(double value) => value.ToString("0.####", CultureInfo.InvariantCulture);

    /// <summary>Axis labels: four significant digits, so that learning rates like 4e-05 stay readable.</summary>
    private static string Tick(double value) => value.ToString("G4", CultureInfo.InvariantCulture);
}
