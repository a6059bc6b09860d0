using Igcv3.Tests.Support;
using Igcv3.Train.Data.Images;
using Xunit;

namespace Igcv3.Tests.Train.Images;

/// <summary>
/// Our crops against torchvision's on the same PNGs (lossless, so both start from the same
/// pixels): the evaluation transform (Resize + CenterCrop) and the resized crop at the heart of
/// RandomResizedCrop. Pillow's resize is integer arithmetic, and ours repeats it, so the bytes
/// must be equal. Skipped where no python3 imports torchvision (Debian's python3-torchvision,
/// .ci/install-torchvision.sh).
/// </summary>
public sealed class TorchvisionParityTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void EvalTransformAndCropResize_EqualTorchvisionByteForByte()
    {
        string folder = BenchPython.ScriptFolder();
        string python = BenchPython.InterpreterWith("torchvision", "PIL", "numpy");

        var cases = new List<(string Job, Func<RgbImage, RgbImage> Ours, RgbImage Image)>();
        void Eval(int width, int height, int crop, double fraction)
        {
            var transform = new EvalTransform(crop, fraction);
            cases.Add(($"eval {crop} {transform.ResizeSize}", transform.Apply, EncodedImages.Random(width, height, seed: cases.Count)));
        }
        void Crop(int width, int height, int top, int left, int h, int w, int size) =>
            cases.Add(($"crop {top} {left} {h} {w} {size}",
                image => BilinearResize.CropResize(image, new PixelBox(left, top, w, h), size, size, PixelBox.Whole(size, size)),
                EncodedImages.Random(width, height, seed: cases.Count)));

        Eval(500, 375, 224, 0.875);
        Eval(333, 517, 224, 0.875);
        Eval(180, 120, 64, 0.8);
        Crop(500, 375, 37, 51, 201, 333, 224); // downscale in x, slight upscale in y
        Crop(500, 375, 0, 0, 375, 500, 224);   // the whole image
        Crop(120, 90, 10, 20, 30, 40, 64);     // upscale

        var jobs = new List<string>();
        for (int i = 0; i < cases.Count; i++)
        {
            File.WriteAllBytes(_temp.File($"{i}.png"), EncodedImages.Png(cases[i].Image));
            jobs.Add($"{_temp.File($"{i}.png")} {_temp.File($"{i}.raw")} {cases[i].Job}");
        }
        File.WriteAllLines(_temp.File("jobs.txt"), jobs);
        var (code, text) = BenchPython.Run(python, folder, "torchvision_crops.py", _temp.File("jobs.txt"));
        Assert.True(code == 0, text);

        for (int i = 0; i < cases.Count; i++)
        {
            var size = File.ReadAllText(_temp.File($"{i}.raw.size")).Split(' ').Select(int.Parse).ToArray();
            var theirs = new RgbImage(size[0], size[1], File.ReadAllBytes(_temp.File($"{i}.raw")));
            var ours = cases[i].Ours(cases[i].Image);
            Assert.True((theirs.Width, theirs.Height) == (ours.Width, ours.Height), $"{cases[i].Job}: {ours.Width}x{ours.Height}, torchvision {theirs.Width}x{theirs.Height}");
            Assert.True(theirs.Pixels.SequenceEqual(ours.Pixels), $"{cases[i].Job}: the bytes differ from torchvision's");
        }
    }
}
