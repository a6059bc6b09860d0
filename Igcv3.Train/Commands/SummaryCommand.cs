using System.CommandLine;
using Igcv3.Engine.Nn;
using Igcv3.Networks;
using Igcv3.Train.Settings;
using Igcv3.Train.Training;

namespace Igcv3.Train.Commands;

/// <summary><c>summary</c>: a network's layers, output shapes, parameters and multiply-adds, without training.</summary>
public static class SummaryCommand
{
    public static Command Create(CliEnvironment env)
    {
        var settings = new SettingOptions([.. SettingOptions.NetworkKeys, "dataset"]);
        var config = new Option<string>("--config") { Description = "JSON config file; options on the command line override it." };
        var list = new Option<bool>("--list") { Description = "List the registered networks." };
        var input = new Option<string>("--input") { Description = "cifar (32x32, the default) or imagenet (224x224): the variant to show.", DefaultValueFactory = _ => "cifar" };
        input.AcceptOnlyFromAmong("cifar", "imagenet");
        var classes = new Option<int?>("--classes") { Description = "Classes of the classifier (default: the --dataset's, 1000 for an ImageNet variant)." };
        var command = new Command("summary", "Show a network's layers and parameter count.");
        foreach (var option in settings.All) command.Add(option);
        command.Add(config);
        command.Add(list);
        command.Add(input);
        command.Add(classes);
        command.SetAction(result => Cli.Guard(env, () => Run(env, settings.Given(result), result.GetValue(config), result.GetValue(list),
            result.GetValue(input) == "imagenet" ? InputKind.ImageNet : InputKind.Cifar, result.GetValue(classes))));
        return command;
    }

    public static int Run(CliEnvironment env, System.Text.Json.Nodes.JsonObject cli, string? configPath, bool list, InputKind input, int? classes)
    {
        if (list)
        {
            foreach (string name in NetworkRegistry.Names) env.Out.WriteLine($"{name,-26}{NetworkRegistry.Describe(name)}");
            return ExitCodes.Ok;
        }
        var s = SettingsLoader.Merge(("config", SettingsSources.ConfigLayer(configPath)), ("command line", cli));
        SettingsValidation.Validate(s);
        if (classes is < 1) throw new UsageException($"--classes must be at least 1, got {classes}");
        var network = ModelBuilder.Create(s, classes ?? DatasetLoader.ClassCount(s.Dataset), input);
        // An ImageNet variant (asked for, or the only one a network has) has ImageNet's 1000 classes unless told otherwise.
        if (classes is null && network.Input == InputKind.ImageNet) network = ModelBuilder.Create(s, 1000, input);
        env.Out.WriteLine($"{s.Network}: {NetworkRegistry.Describe(s.Network)}");
        env.Out.WriteLine(ModelSummary.Of(network, network.InputShape(1)).Format());
        return ExitCodes.Ok;
    }
}
