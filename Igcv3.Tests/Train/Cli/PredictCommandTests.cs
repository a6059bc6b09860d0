using System.Text.Json;
using Igcv3.Engine.Cpu;
using Igcv3.Tests.Kernels.Parity;
using Igcv3.Tests.Support;
using Igcv3.Tests.Train.Images;
using Igcv3.Train.Commands;
using Igcv3.Train.Data;
using Igcv3.Train.Data.Images;
using Igcv3.Train.Training;
using Xunit;

namespace Igcv3.Tests.Train.Cli;

/// <summary><c>predict</c> on image files from a real (tiny) run: the probabilities are the
/// softmax of the network's logits on the normalised pixels, on the CPU and the emulated device.</summary>
public class PredictCommandTests(TinyIgcv3Run tiny) : IClassFixture<TinyIgcv3Run>
{
    private sealed record Top(int Index, string Name, double Probability);

    private sealed record Line(string Image, Top[] Top);

    private static Line[] ParseJson(string output) =>
        [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonSerializer.Deserialize<Line>(l, new JsonSerializerOptions { PropertyNameCaseInsensitive = true })!)];

    /// <summary>A 32x32 PNG (lossless, and already the CIFAR size, so the transform leaves its pixels
    /// alone) and the same image 2x larger as a JPEG, which goes through the resize.</summary>
    private static (string Png, RgbImage Pixels, string Jpeg) Images(TempFolder temp)
    {
        var pixels = EncodedImages.Random(32, 32, seed: 4);
        string png = temp.File("small.png"), jpeg = temp.File("large.jpg");
        File.WriteAllBytes(png, EncodedImages.Png(pixels));
        File.WriteAllBytes(jpeg, EncodedImages.Jpeg(EncodedImages.Random(80, 64, seed: 5)));
        return (png, pixels, jpeg);
    }

    [Fact]
    public void Json_GivesTheSoftmaxOfTheNetworksLogits_OnTheNormalisedPixels()
    {
        using var temp = new TempFolder();
        var (png, pixels, jpeg) = Images(temp);

        var lines = ParseJson(CliRunner.Succeeds("predict", "--checkpoint", tiny.Folder, "--device", "cpu", "--json", png, jpeg).Out);

        Assert.Equal([png, jpeg], lines.Select(l => l.Image));
        Assert.All(lines, l => Assert.Equal(5, l.Top.Length));
        Assert.All(lines, l => Assert.True(l.Top.Zip(l.Top.Skip(1)).All(p => p.First.Probability >= p.Second.Probability), "not sorted"));
        // Independently: the PNG's pixels normalised by hand, through the checkpoint's network, softmax.
        string best = Path.Combine(tiny.Folder, "best.safetensors");
        var model = TrainedModel.Load(best, TrainedModel.SettingsOf(best, null, null), CpuBackend.Instance);
        var normalization = DatasetLoader.Normalization(model.Settings);
        var nhwc = new float[32 * 32 * 3];
        for (int i = 0; i < nhwc.Length; i++) nhwc[i] = (pixels.Pixels[i] / 255f - normalization.Mean[i % 3]) / normalization.Std[i % 3];
        var logits = ExportFixtures.EngineLogits(model.Network, nhwc, 1, 32);
        var exp = logits.Select(v => Math.Exp(v - logits.Max())).ToArray();
        var expected = exp.Select((e, c) => (c, p: e / exp.Sum())).OrderByDescending(t => t.p).Take(5).ToArray();
        Assert.Equal(expected.Select(t => t.c), lines[0].Top.Select(t => t.Index));
        for (int i = 0; i < 5; i++) Assert.Equal(expected[i].p, lines[0].Top[i].Probability, 1e-5);
        Assert.Equal(expected.Select(t => $"class_{t.c}"), lines[0].Top.Select(t => t.Name));
    }

    [Fact]
    public void Table_ShowsEachImageWithItsRankedClassesInPercent()
    {
        using var temp = new TempFolder();
        var (png, _, _) = Images(temp);

        var result = CliRunner.Succeeds("predict", "--checkpoint", tiny.Folder, "--device", "cpu", "--top", "3", png);

        var lines = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("igcv3-d 0.25x (synthetic)", lines[0]);
        Assert.Equal(png, lines[1]);
        Assert.Equal(3, lines.Count(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^  [123]  class_\d+\s+\d+\.\d\d%$")));
    }

    [Fact]
    public void AnImageThatCannotBeDecoded_OrIsMissing_FailsCleanly_WithNothingPrinted()
    {
        using var temp = new TempFolder();
        var (png, _, _) = Images(temp);
        string text = temp.File("notes.jpg");
        File.WriteAllText(text, "not an image");

        var corrupt = CliRunner.FailsWith(ExitCodes.Data, "cannot decode image " + text, "predict", "--checkpoint", tiny.Folder, "--device", "cpu", png, text);
        var missing = CliRunner.FailsWith(ExitCodes.Data, "cannot decode image", "predict", "--checkpoint", tiny.Folder, "--device", "cpu", temp.File("gone.png"));
        CliRunner.FailsWith(ExitCodes.Usage, "no checkpoint there", "predict", "--checkpoint", temp.File("norun"), png);

        Assert.Equal("", corrupt.Out);
        Assert.Equal("", missing.Out);
    }
}

/// <summary><c>predict --device emulated</c>: the CUDA backend's eval path gives the CPU's probabilities.</summary>
[Collection(EmulatedCollection.Name), Trait("device", "emulated")]
public sealed class EmulatedPredictTests(EmulatedFixture fixture) : IDisposable
{
    private readonly TinyIgcv3Run _tiny = new();

    public void Dispose() => _tiny.Dispose();

    [Fact]
    public void OnTheEmulatedDevice_TheProbabilitiesEqualTheCpus()
    {
        _ = fixture.BackendOrSkip(); // no g++: skip (or fail under IGCV3_REQUIRE_EMULATION)
        using var temp = new TempFolder();
        string png = temp.File("a.png");
        File.WriteAllBytes(png, EncodedImages.Png(EncodedImages.Random(32, 32, seed: 8)));

        string cpu = CliRunner.Succeeds("predict", "--checkpoint", _tiny.Folder, "--device", "cpu", "--json", png).Out;
        string emulated = CliRunner.Succeeds("predict", "--checkpoint", _tiny.Folder, "--device", "emulated", "--json", png).Out;

        var c = JsonDocument.Parse(cpu).RootElement.GetProperty("top").EnumerateArray().Select(t => (t.GetProperty("index").GetInt32(), t.GetProperty("probability").GetDouble())).ToArray();
        var e = JsonDocument.Parse(emulated).RootElement.GetProperty("top").EnumerateArray().Select(t => (t.GetProperty("index").GetInt32(), t.GetProperty("probability").GetDouble())).ToArray();
        Assert.Equal(c.Select(t => t.Item1), e.Select(t => t.Item1));
        for (int i = 0; i < c.Length; i++) Assert.Equal(c[i].Item2, e[i].Item2, 1e-4);
    }
}
