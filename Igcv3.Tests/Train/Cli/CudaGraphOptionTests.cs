using Igcv3.Tests.Support;
using Igcv3.Train.Commands;
using Xunit;

namespace Igcv3.Tests.Train.Cli;

/// <summary>--cuda-graph where it means nothing, and where it is misspelt.</summary>
public sealed class CudaGraphOptionTests
{
    [Fact]
    public void OnTheCpu_TheOptionIsIgnored_WithANote()
    {
        using var temp = new TempFolder();
        var run = CliRunner.Succeeds(["train", .. CliRunner.TinyNetwork, .. CliRunner.TinySynthetic(64, 32), "--epochs", "1", "--cuda-graph", "on", "--output", temp.File("run")]);
        Assert.Contains("--cuda-graph on: ignored, CUDA graphs exist only on a CUDA device", run.Out);
        Assert.DoesNotContain("CUDA graph:", run.Out);
    }

    [Fact]
    public void AnotherValue_IsAUsageError() =>
        CliRunner.FailsWith(ExitCodes.Usage, "unknown cuda-graph 'yes'; choose one of on, off (--cuda-graph)", "train", "--cuda-graph", "yes");
}
