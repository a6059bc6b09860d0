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
        var settings = new SettingOptions();
        var config = new Option<string>("--config") { Description = "JSON config file; options on the command line override it." };
        var list = new Option<bool>("--list") { Description = "List the registered networks." };
        var command = new Command("summary", "Show a network's layers and parameter count.");
        foreach (var option in settings.All) command.Add(option);
        command.Add(config);
        command.Add(list);
        command.SetAction(result => Cli.Guard(env, () => Run(env, settings.Given(result), result.GetValue(config), result.GetValue(list))));
        return command;
    }

    public static int Run(CliEnvironment env, System.Text.Json.Nodes.JsonObject cli, string? configPath, bool list)
    {
        if (list)
        {
            foreach (string name in NetworkRegistry.Names) env.Out.WriteLine($"{name,-26}{NetworkRegistry.Describe(name)}");
            return ExitCodes.Ok;
        }
        var s = SettingsLoader.Merge(("config", SettingsSources.ConfigLayer(configPath)), ("command line", cli));
        SettingsValidation.Validate(s);
        var network = ModelBuilder.Network(s, DatasetLoader.ClassCount(s.Dataset));
        env.Out.WriteLine($"{s.Network}: {NetworkRegistry.Describe(s.Network)}");
        env.Out.WriteLine(ModelSummary.Of(network, network.InputShape(1)).Format());
        return ExitCodes.Ok;
    }
}
