using System.Text.Json.Nodes;
using Igcv3.Engine.Checkpoints;
using Igcv3.Train.Settings;
using Igcv3.Train.Training;

namespace Igcv3.Train.Commands;

/// <summary>Reading the settings layers a command is given: a checkpoint's, a config file's.</summary>
public static class SettingsSources
{
    /// <summary>A checkpoint path, or a run folder standing for its last.safetensors.</summary>
    public static string ResolveCheckpoint(string path, string option)
    {
        string file = Directory.Exists(path) ? Path.Combine(path, "last.safetensors") : path;
        if (!File.Exists(file))
            throw new UsageException($"{option} {path}: no checkpoint there; give a .safetensors file or a run folder holding last.safetensors");
        return file;
    }

    /// <summary>The settings a checkpoint was trained with (null for a checkpoint saved by something other than this trainer).</summary>
    public static JsonObject? CheckpointLayer(string checkpoint)
    {
        var metadata = SafeTensorsReader.Read(checkpoint).Metadata;
        return metadata.TryGetValue(Trainer.ConfigKey, out var json) ? SettingsLoader.ParseLayer(json, $"settings stored in {checkpoint}") : null;
    }

    public static JsonObject? ConfigLayer(string? configPath) => configPath is null ? null : SettingsLoader.ReadConfigFile(configPath);
}
