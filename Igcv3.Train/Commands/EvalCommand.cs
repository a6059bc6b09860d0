using System.CommandLine;
using System.Globalization;
using Igcv3.Train.Data;
using Igcv3.Train.Training;

namespace Igcv3.Train.Commands;

/// <summary><c>eval</c>: test loss, top-1 and top-5 of a checkpoint, built with the settings stored in it.</summary>
public static class EvalCommand
{
    public static Command Create(CliEnvironment env)
    {
        var settings = new SettingOptions([.. SettingOptions.NetworkKeys, "dataset", "data-dir", "download", "limit-test", "svhn-extra", "synthetic-train", "synthetic-test", "eval-batch-size", "crop-fraction", "workers", "jpeg-draft", "seed", "device"]);
        var config = new Option<string>("--config") { Description = "JSON config file; options on the command line override it." };
        var checkpoint = new Option<string>("--checkpoint") { Description = "The checkpoint to evaluate, or a run folder (its best.safetensors).", Required = true };
        var command = new Command("eval", "Evaluate a checkpoint on the test set.");
        foreach (var option in settings.All) command.Add(option);
        command.Add(config);
        command.Add(checkpoint);
        command.SetAction(result => Cli.Guard(env, () => Run(env, settings.Given(result), result.GetValue(config), result.GetValue(checkpoint)!)));
        return command;
    }

    public static int Run(CliEnvironment env, System.Text.Json.Nodes.JsonObject cli, string? configPath, string checkpointPath)
    {
        string checkpoint = TrainedModel.Resolve(checkpointPath);
        var s = TrainedModel.SettingsOf(checkpoint, cli, configPath);
        var device = DeviceChoice.Select(s.Device, env.CudaBackend);
        var network = TrainedModel.Load(checkpoint, s, device.Backend).Network;
        var loaders = RunLoaders.Create(s, env.Out, env.CifarLayouts, testOnly: true, env.Cancellation);
        var result = Evaluator.Run(network, device.Backend, loaders.Test, env.Cancellation);
        env.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{checkpoint}: {s.Network} on {loaders.Name} ({result.Images:N0} images), device {device.Description}: loss {result.Loss:F4}  top-1 {result.Top1:F2}%  top-5 {result.Top5:F2}%"));
        return ExitCodes.Ok;
    }
}
