using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Igcv3.Networks;
using Igcv3.Train.Data;
using Igcv3.Train.Data.Images;
using Igcv3.Train.Training;

namespace Igcv3.Train.Commands;

/// <summary><c>predict</c>: the top classes of image files (JPEG, PNG) under a trained network, as a table or JSON.</summary>
public static class PredictCommand
{
    public static Command Create(CliEnvironment env)
    {
        var settings = new SettingOptions([.. SettingOptions.NetworkKeys, "dataset", "data-dir", "device"]);
        var config = new Option<string>("--config") { Description = "JSON config file, for a checkpoint saved without its settings." };
        var checkpoint = new Option<string>("--checkpoint") { Description = "The checkpoint, or a run folder (its best.safetensors).", Required = true };
        var top = new Option<int>("--top") { Description = "How many classes to show per image.", DefaultValueFactory = _ => 5 };
        var json = new Option<bool>("--json") { Description = "Print JSON (one object per image) instead of a table." };
        var images = new Argument<string[]>("images") { Description = "Image files (JPEG or PNG).", Arity = ArgumentArity.OneOrMore };
        var command = new Command("predict", "Classify image files with a trained network: the top classes and their probabilities.");
        foreach (var option in settings.All) command.Add(option);
        command.Add(config);
        command.Add(checkpoint);
        command.Add(top);
        command.Add(json);
        command.Add(images);
        command.SetAction(result => Cli.Guard(env, () => Run(env, settings.Given(result), result.GetValue(config), result.GetValue(checkpoint)!,
            result.GetValue(images)!, result.GetValue(top), result.GetValue(json))));
        return command;
    }

    public static int Run(CliEnvironment env, System.Text.Json.Nodes.JsonObject cli, string? configPath, string checkpointPath, string[] images, int top, bool json)
    {
        if (top < 1) throw new UsageException($"--top must be at least 1, got {top}");
        string checkpoint = TrainedModel.Resolve(checkpointPath);
        var s = TrainedModel.SettingsOf(checkpoint, cli, configPath);
        var device = DeviceChoice.Select(s.Device, env.CudaBackend);
        var model = TrainedModel.Load(checkpoint, s, device.Backend);
        var normalization = model.Network.Input == InputKind.ImageNet ? ChannelNormalization.ImageNet : DatasetLoader.Normalization(s);
        var predictor = new Predictor(model.Network, device.Backend, normalization, DatasetLoader.ClassNames(s, env.CifarLayouts));
        IReadOnlyList<Prediction> predictions;
        try
        {
            predictions = predictor.Predict(images, Math.Min(top, model.Network.Classes));
        }
        catch (CorruptImageException e)
        {
            throw new DataException($"{e.Message}; give JPEG or PNG files", e);
        }

        if (json)
        {
            foreach (var p in predictions)
                env.Out.WriteLine(JsonSerializer.Serialize(new { image = p.Image, top = p.Top.Select(c => new { index = c.Index, name = c.Name, probability = c.Probability }) }));
            return ExitCodes.Ok;
        }
        env.Out.WriteLine($"{checkpoint}: {s.NetworkLabel} ({s.Dataset}), device {device.Description}");
        foreach (var p in predictions)
        {
            env.Out.WriteLine(p.Image);
            int width = p.Top.Max(c => c.Name.Length);
            for (int i = 0; i < p.Top.Count; i++)
                env.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {i + 1}  {p.Top[i].Name.PadRight(width)}  {100 * p.Top[i].Probability,7:F2}%"));
        }
        return ExitCodes.Ok;
    }
}
