using Igcv3.Tests.Support;
using Igcv3.Train.Commands;
using Igcv3.Train.Settings;
using Xunit;

namespace Igcv3.Tests.Train.Cli;

/// <summary>The command line as argparse users expect it: defaults in --help, each command's own
/// options only, the last of a repeated option winning, a suggestion for a misspelt option.</summary>
public sealed class OptionsTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private static string OptionLine(string help, string option) =>
        help.Split('\n').Single(l => l.TrimStart().StartsWith(option + " ", StringComparison.Ordinal));

    [Fact]
    public void Help_ShowsTheDefaults()
    {
        string help = CliRunner.Succeeds("train", "--help").Out;
        Assert.Contains("[default: 0.1]", OptionLine(help, "--lr"));
        Assert.Contains("[default: exponential]", OptionLine(help, "--schedule"));
        Assert.Contains("[default: 0.5,0.75,0.875]", OptionLine(help, "--milestones"));
        Assert.DoesNotContain("[default:", OptionLine(help, "--limit-train")); // no default: every image
    }

    [Fact]
    public void EvalAndSummary_ListOnlyTheOptionsTheyUse()
    {
        string eval = CliRunner.Succeeds("eval", "--help").Out, summary = CliRunner.Succeeds("summary", "--help").Out;
        foreach (string help in new[] { eval, summary })
        {
            Assert.Contains("--width-multiplier", help);
            Assert.DoesNotContain("--lr ", help);
            Assert.DoesNotContain("--epochs", help);
            Assert.DoesNotContain("--time-limit-minutes", help);
        }
        Assert.Contains("--limit-test", eval);
        Assert.DoesNotContain("--data-dir", summary);
        CliRunner.FailsWith(ExitCodes.Usage, "unknown option '--lr'", "eval", "--checkpoint", "x", "--lr", "0.1");
    }

    [Theory]
    [InlineData("--lrr", "--lr")]
    [InlineData("--epoch", "--epochs")]
    [InlineData("--batchsize", "--batch-size")]
    public void AMisspeltOption_GetsTheNearestSuggested(string typo, string meant) =>
        CliRunner.FailsWith(ExitCodes.Usage, $"unknown option '{typo}'; did you mean {meant}?", "train", typo, "3");

    [Fact]
    public void RepeatedOptions_TheLastWins_LimitAll_AndTheConfigHoldsNoOutputAndFullPaths()
    {
        string config = _temp.File("recipe.json"), run = _temp.File("run");
        File.WriteAllText(config, """{ "limit-test": 16 }""");
        var result = CliRunner.Succeeds(["train", .. CliRunner.TinyNetwork, .. CliRunner.TinySynthetic(), "--config", config,
            "--epochs", "3", "--epochs", "1", "--limit-test", "all", "--data-dir", "relative/data", "--output", run]);
        Assert.Contains("(128 train / 64 test images)", result.Out);

        var saved = SettingsLoader.Merge(("config.json", SettingsLoader.ReadConfigFile(Path.Combine(run, "config.json"))));
        Assert.Equal(1, saved.Epochs);
        Assert.Null(saved.LimitTest);
        // Reused as a --config, it names no output folder (its own run's), and its paths hold from any folder.
        Assert.Null(saved.Output);
        Assert.Equal(Path.GetFullPath("relative/data"), saved.DataDir);
    }

    [Fact]
    public void ExtraValues_AfterAnOption_AreStillRefused() =>
        CliRunner.FailsWith(ExitCodes.Usage, "'0.2'", "train", "--lr", "0.1", "0.2");
}
