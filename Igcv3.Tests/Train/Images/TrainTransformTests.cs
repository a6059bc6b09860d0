using Igcv3.Train.Data;
using Igcv3.Train.Data.Images;
using Xunit;

namespace Igcv3.Tests.Train.Images;

public class TrainTransformTests
{
    [Fact]
    public void DrawCrop_StaysInside_WithinTheScaleAndRatioRanges()
    {
        var t = new TrainTransform();
        var random = new Random(1);
        for (int n = 0; n < 2000; n++)
        {
            int width = 50 + random.Next(500), height = 50 + random.Next(500);
            var box = t.DrawCrop(width, height, random);
            Assert.True(box.IsInside(width, height), $"{box} outside {width}x{height}");
            double area = (double)box.Width * box.Height / (width * height), ratio = (double)box.Width / box.Height;
            bool fallback = box.X == (width - box.Width) / 2 && box.Y == (height - box.Height) / 2 && (box.Width == width || box.Height == height);
            if (fallback) continue;
            // The drawn w and h are rounded, so area and ratio hold to within a pixel's rounding.
            Assert.InRange(area, 0.08 * 0.9, 1.0);
            Assert.InRange(ratio, 0.75 * 0.9, 4.0 / 3 * 1.1);
        }
    }

    [Theory]
    [InlineData(1000, 10, 493, 0, 13, 10)] // too wide for any try: the height, 4/3 of it wide, centred
    [InlineData(10, 1000, 0, 493, 10, 13)] // too tall: round(10 / 0.75) = 13 high
    public void DrawCrop_FallsBackToTheCentreClampedToTheRatio(int width, int height, int x, int y, int w, int h)
    {
        var box = new TrainTransform().DrawCrop(width, height, new Random(3));
        Assert.Equal(new PixelBox(x, y, w, h), box);
    }

    [Fact]
    public void WholeImageCrop_IsTheImageOrItsMirror_BothSeen()
    {
        // Scale 1 and ratio 1 on a square image: the crop is the whole image, the resize the identity.
        var t = new TrainTransform(size: 16, minScale: 1, maxScale: 1, minRatio: 1, maxRatio: 1);
        var image = EncodedImages.Make(16, 16, (x, y) => ((byte)(x * 10), (byte)(y * 10), 5));
        var raw = TinyImages.Raw(3);
        bool sawPlain = false, sawMirror = false;
        for (int seed = 0; seed < 20; seed++)
        {
            var output = new float[16 * 16 * 3];
            t.Write(image, new Random(seed), raw, output);
            bool plain = true, mirror = true;
            for (int y = 0; y < 16; y++)
            for (int x = 0; x < 16; x++)
            for (int c = 0; c < 3; c++)
            {
                float v = output[(y * 16 + x) * 3 + c];
                plain &= Math.Abs(v - image.At(x, y, c)) < 1e-3;
                mirror &= Math.Abs(v - image.At(15 - x, y, c)) < 1e-3;
            }
            Assert.True(plain || mirror, $"seed {seed}: neither the image nor its mirror");
            sawPlain |= plain;
            sawMirror |= mirror;
        }
        Assert.True(sawPlain && sawMirror);
    }

    [Fact]
    public void SameRandomSeed_SameOutput()
    {
        var t = new TrainTransform(size: 24, jitter: 0.4, lighting: 0.1);
        var image = EncodedImages.Random(60, 45, seed: 2);
        var a = new float[24 * 24 * 3];
        var b = new float[24 * 24 * 3];
        t.Write(image, new Random(11), ChannelNormalization.ImageNet, a);
        t.Write(image, new Random(11), ChannelNormalization.ImageNet, b);
        Assert.Equal(a, b);
        t.Write(image, new Random(12), ChannelNormalization.ImageNet, b);
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void Jitter_OnAFlatGrey_ScalesItUniformly_Lighting_ShiftsEachChannelUniformly()
    {
        var grey = EncodedImages.Make(32, 32, (_, _) => (100, 100, 100));
        var raw = new ChannelNormalization([0f, 0f, 0f], [1f, 1f, 1f]); // out = pixel / 255
        var jitter = new TrainTransform(size: 8, jitter: 0.4);
        var lighting = new TrainTransform(size: 8, lighting: 0.5);
        var shifted = false;
        for (int seed = 0; seed < 5; seed++)
        {
            var output = new float[8 * 8 * 3];
            // Contrast and saturation leave a flat grey as it is; brightness scales it by [0.6, 1.4].
            jitter.Write(grey, new Random(seed), raw, output);
            Assert.All(output, v => Assert.Equal(output[0], v, 1e-6f));
            Assert.InRange(output[0], 100 / 255f * 0.6f - 1e-5f, 100 / 255f * 1.4f + 1e-5f);

            lighting.Write(grey, new Random(seed), raw, output);
            for (int c = 0; c < 3; c++)
                for (int p = 0; p < 64; p++) Assert.Equal(output[c], output[p * 3 + c], 1e-6f);
            shifted |= Math.Abs(output[0] - 100 / 255f) > 1e-4;
        }
        Assert.True(shifted, "the lighting noise never moved the pixels");
    }

    [Fact]
    public void BadRanges_Throw()
    {
        Assert.Throws<ArgumentException>(() => new TrainTransform(minScale: 0));
        Assert.Throws<ArgumentException>(() => new TrainTransform(minScale: 0.5, maxScale: 0.4));
        Assert.Throws<ArgumentException>(() => new TrainTransform(minRatio: 2, maxRatio: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TrainTransform(jitter: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TrainTransform(size: 0));
    }
}
