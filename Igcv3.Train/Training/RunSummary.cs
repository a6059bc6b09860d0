using System.Globalization;
using System.Text.Json;
using Igcv3.Engine.IO;

namespace Igcv3.Train.Training;

/// <summary>The closing figures of a run, printed and saved as summary.json. Accuracies in percent.</summary>
public sealed record RunSummary(string Network, string Dataset, string Device, int Epochs, double BestTop1, double BestTop5, int BestEpoch,
    double FinalTop1, double FinalTop5, double WallSeconds, double ImagesPerSecond, long Parameters)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public void Save(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, Json) + "\n");

    public static RunSummary Load(string path) => JsonSerializer.Deserialize<RunSummary>(File.ReadAllText(path), Json)!;

    public string Format() => string.Create(CultureInfo.InvariantCulture,
        $"""
        Done: {Network} ({Parameters:N0} parameters) on {Dataset}, {Epochs} epochs, device {Device}
          best  top-1 {BestTop1:F2}%  top-5 {BestTop5:F2}%  (epoch {BestEpoch})
          final top-1 {FinalTop1:F2}%  top-5 {FinalTop5:F2}%
          wall time {Igcv3.Train.Progress.PlainProgress.Format(TimeSpan.FromSeconds(WallSeconds))}, training {ImagesPerSecond:F0} images/s
        """);
}
