using System.Globalization;
using System.Text.Json;
using Igcv3.Train.Data;
using Igcv3.Train.Settings;
using Igcv3.Train.Training;

namespace Igcv3.Train.Export;

/// <summary>
/// What an exported model says about itself (ONNX metadata_props, safetensors __metadata__), so
/// that a deployment can prepare its input and label its output without this trainer: the network
/// and its width, the dataset, the input layout, the normalisation mean and std, the class names
/// in label order, and the full settings of the run.
/// </summary>
public static class ExportMetadata
{
    public static Dictionary<string, string> Of(TrainedModel model, ChannelNormalization normalization, IReadOnlyList<string> classNames)
    {
        var s = model.Settings;
        int r = model.Network.Resolution;
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["network"] = s.Network,
            ["network_label"] = s.NetworkLabel,
            ["width_multiplier"] = s.WidthMultiplier.ToString("R", CultureInfo.InvariantCulture),
            ["dataset"] = s.Dataset,
            ["input"] = $"float32 NCHW [batch, 3, {r}, {r}], RGB, each channel (pixel / 255 - mean) / std",
            ["mean"] = Numbers(normalization.Mean),
            ["std"] = Numbers(normalization.Std),
            ["class_names"] = JsonSerializer.Serialize(classNames),
            ["settings"] = SettingsLoader.ToJsonText(s with { Output = null }),
            ["checkpoint"] = Path.GetFileName(model.Checkpoint),
        };
    }

    private static string Numbers(IEnumerable<float> values) => string.Join(",", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
}
