using Igcv3.Train.Data.Images;

namespace Igcv3.Tests.Train.Images;

/// <summary>Encoded images held in memory, for loader tests; <see cref="BeforeRead"/> lets a test perturb timing or fail a read.</summary>
public sealed class MemoryImageSource(byte[][] encoded, int[] labels, int classes) : IImageSource
{
    public string Name => "memory";
    public int Count => encoded.Length;
    public IReadOnlyList<string> ClassNames { get; } = Enumerable.Range(0, classes).Select(k => $"c{k}").ToArray();
    public int Label(int index) => labels[index];
    public string Describe(int index) => $"image-{index}.png";
    public Action<int>? BeforeRead { get; init; }

    public byte[] Read(int index)
    {
        BeforeRead?.Invoke(index);
        return encoded[index];
    }

    /// <summary>
    /// <paramref name="count"/> PNGs of varied sizes whose pixels say which image they are:
    /// pixel (x, y) of image i is (i, 4x mod 256, 4y mod 256); label i mod classes.
    /// </summary>
    public static MemoryImageSource Indexed(int count, int classes, Action<int>? beforeRead = null)
    {
        var images = new byte[count][];
        for (int i = 0; i < count; i++)
        {
            int w = 20 + i % 7 * 3, h = 18 + i % 5 * 4;
            images[i] = EncodedImages.Png(EncodedImages.Make(w, h, (x, y) => ((byte)i, (byte)(4 * x % 256), (byte)(4 * y % 256))));
        }
        return new MemoryImageSource(images, Enumerable.Range(0, count).Select(i => i % classes).ToArray(), classes) { BeforeRead = beforeRead };
    }
}
