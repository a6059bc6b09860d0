using Igcv3.Train.Data;

namespace Igcv3.Tests.Train;

/// <summary>Small datasets with known contents for batch and augmentation tests.</summary>
public static class TinyImages
{
    /// <summary>Random bytes, random labels: [count, channels, height, width].</summary>
    public static ImageDataset Random(int count, int channels, int height, int width, int classes, int seed)
    {
        var random = new System.Random(seed);
        var pixels = new byte[count * channels * height * width];
        random.NextBytes(pixels);
        var labels = Enumerable.Range(0, count).Select(_ => random.Next(classes)).ToArray();
        return new ImageDataset("random", pixels, labels, channels, height, width,
            Enumerable.Range(0, classes).Select(k => $"c{k}").ToArray());
    }

    /// <summary>
    /// Images whose pixels spell out their own index: pixel (c, y, x) of image i is
    /// (i + 7c + 3y + x) mod 256 with i &lt; 256, so a batch says which images it holds and where each pixel came from.
    /// </summary>
    public static ImageDataset Indexed(int count, int channels, int height, int width, int classes)
    {
        var pixels = new byte[count * channels * height * width];
        for (int i = 0; i < count; i++)
        for (int c = 0; c < channels; c++)
        for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
            pixels[((i * channels + c) * height + y) * width + x] = (byte)((i + 7 * c + 3 * y + x) % 256);
        var labels = Enumerable.Range(0, count).Select(i => i % classes).ToArray();
        return new ImageDataset("indexed", pixels, labels, channels, height, width,
            Enumerable.Range(0, classes).Select(k => $"c{k}").ToArray());
    }

    /// <summary>A normalisation that leaves byte values as they are: std = 1/255, mean = 0, so out = pixel.</summary>
    public static ChannelNormalization Raw(int channels) =>
        new(Enumerable.Repeat(0f, channels).ToArray(), Enumerable.Repeat(1f / 255f, channels).ToArray());
}
