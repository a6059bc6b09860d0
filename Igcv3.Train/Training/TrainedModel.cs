using System.Text.Json.Nodes;
using Igcv3.Engine;
using Igcv3.Engine.Checkpoints;
using Igcv3.Engine.Nn;
using Igcv3.Networks;
using Igcv3.Train.Commands;
using Igcv3.Train.Settings;

namespace Igcv3.Train.Training;

/// <summary>
/// A trained network back from its checkpoint, as eval, export and predict use it: the network
/// built from the settings stored in the checkpoint (overridden by a config file and the command
/// line, for files saved without them), its parameters loaded on a backend.
/// </summary>
public sealed record TrainedModel(string Checkpoint, RunSettings Settings, Network Network, ParameterSet Parameters)
{
    /// <summary>--checkpoint: a .safetensors file, or a run folder standing for its best.safetensors
    /// (its last.safetensors where no best was saved yet).</summary>
    public static string Resolve(string path, string option = "--checkpoint") =>
        Directory.Exists(path) && File.Exists(Path.Combine(path, "best.safetensors"))
            ? Path.Combine(path, "best.safetensors")
            : SettingsSources.ResolveCheckpoint(path, option);

    /// <summary>The settings a checkpoint was trained with, merged with a config file's and the command line's, validated.</summary>
    public static RunSettings SettingsOf(string checkpoint, JsonObject? cli, string? configPath)
    {
        var s = SettingsLoader.Merge(("checkpoint", SettingsSources.CheckpointLayer(checkpoint)), ("config", SettingsSources.ConfigLayer(configPath)), ("command line", cli));
        SettingsValidation.Validate(s);
        return s;
    }

    /// <summary>Builds the network of <paramref name="s"/> and loads <paramref name="checkpoint"/>
    /// into it on <paramref name="backend"/>; a misfit says which settings the network was built with.</summary>
    public static TrainedModel Load(string checkpoint, RunSettings s, IBackend backend)
    {
        var network = ModelBuilder.Network(s, DatasetLoader.ClassCount(s));
        var parameters = ParameterSet.Create(network, backend, s.Seed);
        try
        {
            Engine.Checkpoints.Checkpoint.Load(checkpoint, parameters);
        }
        catch (CheckpointException e)
        {
            throw new CheckpointException($"{e.Message} (built as --network {s.Network} --width-multiplier {s.WidthMultiplier}; drop those options to use the checkpoint's own)", e);
        }
        return new TrainedModel(checkpoint, s, network, parameters);
    }
}
