using System.Globalization;
using Igcv3.Tests.Support;
using Igcv3.Train.Data;
using Igcv3.Train.Data.Images;
using Xunit;

namespace Igcv3.Tests.Train.Images;

/// <summary>
/// Our hue jitter against torchvision's adjust_hue on the same PNG's [0, 1] tensor. Tolerance:
/// 1e-6 per value (a quarter of a float32 step near 1, far below a grey level, 1/255): both run the
/// same float32 steps (HSV by the max channel, the shift modulo 1, back by sextant), so only the
/// rounding of a step could differ. Skipped where no python3 imports torchvision.
/// </summary>
public sealed class TorchvisionHueTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void AdjustHue_EqualsTorchvisionsAdjustHue()
    {
        string folder = BenchPython.ScriptFolder();
        string python = BenchPython.InterpreterWith("torchvision", "PIL", "numpy");
        // Random colours, and greys and saturated primaries (the formula's edge cases: max == min, ties of the max).
        var random = EncodedImages.Random(37, 19, seed: 11);
        var edges = EncodedImages.Make(6, 4, (x, y) => (y * 6 + x) switch
        {
            0 => (0, 0, 0), 1 => (255, 255, 255), 2 => (128, 128, 128), 3 => (255, 0, 0), 4 => (0, 255, 0), 5 => (0, 0, 255),
            6 => (255, 255, 0), 7 => (0, 255, 255), 8 => (255, 0, 255), 9 => (200, 200, 10), 10 => (10, 200, 200), _ => ((byte)(x * 40), (byte)(y * 60), (byte)(x * y * 10)),
        });
        float[] factors = [0.5f, -0.5f, 0.25f, -0.125f, 0.0625f, 0.4375f];
        var jobs = new List<string>();
        var cases = new List<(RgbImage Image, float Factor, string Out)>();
        foreach (var (image, name) in new[] { (random, "random"), (edges, "edges") })
        {
            string png = _temp.File($"{name}.png");
            File.WriteAllBytes(png, EncodedImages.Png(image));
            foreach (float factor in factors)
            {
                string output = _temp.File($"{name}_{cases.Count}.f32");
                jobs.Add($"{png} {output} {factor.ToString("R", CultureInfo.InvariantCulture)}");
                cases.Add((image, factor, output));
            }
        }
        File.WriteAllLines(_temp.File("jobs.txt"), jobs);
        var (code, text) = BenchPython.Run(python, folder, "torchvision_hue.py", _temp.File("jobs.txt"));
        Assert.True(code == 0, text);

        foreach (var (image, factor, output) in cases)
        {
            var bytes = File.ReadAllBytes(output);
            var theirs = new float[bytes.Length / 4];
            Buffer.BlockCopy(bytes, 0, theirs, 0, bytes.Length);
            var ours = image.Pixels.Select(p => p / 255f).ToArray();
            TrainTransform.AdjustHue(ours, factor);
            Assert.Equal(theirs.Length, ours.Length);
            double worst = 0;
            for (int i = 0; i < ours.Length; i++) worst = Math.Max(worst, Math.Abs(ours[i] - theirs[i]));
            Assert.True(worst <= 1e-6, $"hue {factor} on {image.Width}x{image.Height}: ours differs from torchvision's by up to {worst}");
        }
    }

    [Fact]
    public void HueJitter_RotatesColours_KeepsGreys_AndLeavesTheOtherDrawsAsBefore()
    {
        var raw = new ChannelNormalization([0, 0, 0], [1, 1, 1]);
        var colour = EncodedImages.Make(16, 16, (x, _) => x < 8 ? ((byte)220, (byte)30, (byte)30) : ((byte)128, (byte)128, (byte)128));
        var hue = new TrainTransform(size: 16, minScale: 1, minRatio: 1, maxRatio: 1, flip: false, hue: 0.5);
        var output = new float[16 * 16 * 3];
        bool changed = false;
        for (int seed = 0; seed < 8; seed++)
        {
            hue.Write(colour, new Random(seed), raw, output);
            // A grey has no hue: it stays; the red's channels are permuted around the wheel, its max and min kept.
            Assert.Equal(128 / 255f, output[(4 * 16 + 12) * 3 + 1], 1e-6f);
            var red = output.AsSpan((4 * 16 + 2) * 3, 3).ToArray();
            Assert.Equal(220 / 255f, red.Max(), 1e-5f);
            Assert.Equal(30 / 255f, red.Min(), 1e-5f);
            changed |= Math.Abs(red[0] - 220 / 255f) > 0.01;
        }
        Assert.True(changed, "no seed moved the red's hue");
        Assert.Throws<ArgumentOutOfRangeException>(() => new TrainTransform(hue: 0.6));
    }
}
