using System.Text.RegularExpressions;
using Igcv3.Networks;
using Igcv3.Train.Commands;
using Xunit;

namespace Igcv3.Tests.Train.Cli;

/// <summary>
/// <c>summary</c> as a user runs it: every row of IGC_SPEC.md's parameter table reached through
/// the command line (CIFAR and ImageNet variants, class counts, width multipliers, IGCV1 knobs),
/// the per-layer table with its totals, and <c>--list</c>.
/// </summary>
public class SummaryCommandTests
{
    /// <summary>The number on the "total" row's parameter column.</summary>
    private static long TotalParameters(string output)
    {
        var total = output.Split('\n').Single(l => l.TrimStart().StartsWith("total "));
        var numbers = Regex.Matches(total, @"\d{1,3}(,\d{3})+|\d+").Select(m => long.Parse(m.Value.Replace(",", ""))).ToList();
        return numbers[^2]; // ... parameters, multiply-adds
    }

    [Theory]
    [InlineData(3_491_688, "--network", "igcv3-d", "--input", "imagenet")]
    [InlineData(3_504_872, "--network", "mobilenetv2", "--input", "imagenet")]
    [InlineData(2_223_498, "--network", "igcv3-d")]
    [InlineData(2_338_788, "--network", "igcv3-d", "--dataset", "cifar100")]
    [InlineData(2_236_682, "--network", "mobilenetv2")]
    [InlineData(2_351_972, "--network", "mobilenetv2", "--classes", "100")]
    [InlineData(665_942, "--network", "igcv3-d", "--width-multiplier", "0.5")]
    [InlineData(1_178_940, "--network", "igcv3-d", "--width-multiplier", "0.7")]
    [InlineData(8_637_900, "--network", "resnet-igc-imagenet-d18", "--l", "100", "--m", "1")]
    [InlineData(317_242, "--network", "plain-igc", "--depth", "38", "--l", "24", "--m", "2")]
    [InlineData(139_098, "--network", "resnet-igc", "--depth", "20", "--l", "2", "--m", "8")]
    [InlineData(272_474, "--network", "resnet", "--depth", "20", "--width", "16")]
    public void EverySpecRow_ThroughTheCommandLine(long parameters, params string[] args)
    {
        var result = CliRunner.Succeeds(["summary", .. args]);
        Assert.Equal(parameters, TotalParameters(result.Out));
    }

    [Fact]
    public void ImageNetVariant_ShowsEveryLayerAt224_WithTheSpecsMultiplyAdds()
    {
        var result = CliRunner.Succeeds("summary", "--network", "igcv3-d", "--input", "imagenet");
        Assert.Contains("[1, 112, 112, 32]", result.Out);         // the stem at stride 2
        Assert.Contains("[1, 7, 7, 1280]", result.Out);           // the head before the pool
        Assert.Contains("[1, 1000]", result.Out);
        var net = NetworkRegistry.Create("igcv3-d", new() { Classes = 1000, Input = InputKind.ImageNet });
        var expected = Igcv3.Engine.Nn.ModelSummary.Of(net, net.InputShape(1));
        var lines = result.Out.Split('\n');
        foreach (var layer in expected.Layers)
            Assert.Single(lines, l => l.StartsWith(layer.Name + " ") && l.Contains(layer.Output.ToString()));
        Assert.Contains(expected.TotalMultiplyAdds.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), result.Out);
    }

    [Fact]
    public void List_NamesEveryRegisteredNetwork()
    {
        var result = CliRunner.Succeeds("summary", "--list");
        foreach (string name in NetworkRegistry.Names) Assert.Contains(name, result.Out);
    }

    [Theory]
    [InlineData(ExitCodes.Usage, "--classes must be at least 1", "--classes", "0")]
    [InlineData(ExitCodes.Usage, "imagenet", "--input", "svhn")]
    public void BadOptions_AreOneLine(int code, string fragment, params string[] args) =>
        CliRunner.FailsWith(code, fragment, ["summary", "--network", "igcv3-d", .. args]);
}
