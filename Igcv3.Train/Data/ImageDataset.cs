namespace Igcv3.Train.Data;

/// <summary>
/// Images held in memory as bytes, in the layout of the CIFAR files: pixels [N, C, H, W] (each
/// image is C planes of H*W bytes, row-major), labels [N] in [0, ClassCount).
/// </summary>
public sealed class ImageDataset
{
    private readonly byte[] _pixels; // [N, C, H, W]
    private readonly int[] _labels;  // [N]

    public ImageDataset(string name, byte[] pixels, int[] labels, int channels, int height, int width, IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(classNames);
        if (channels <= 0 || height <= 0 || width <= 0)
            throw new ArgumentException($"dataset {name}: image shape must be positive, got [{channels}, {height}, {width}]");
        if (classNames.Count == 0)
            throw new ArgumentException($"dataset {name}: needs at least one class");
        long imageBytes = (long)channels * height * width;
        if (pixels.LongLength != imageBytes * labels.Length)
            throw new ArgumentException(
                $"dataset {name}: {labels.Length} labels need {imageBytes * labels.Length} pixel bytes ([N, C, H, W] = [{labels.Length}, {channels}, {height}, {width}]), got {pixels.LongLength}");
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)classNames.Count)
                throw new ArgumentException($"dataset {name}: label {labels[i]} of image {i} is outside [0, {classNames.Count})");

        Name = name;
        _pixels = pixels;
        _labels = labels;
        Channels = channels;
        Height = height;
        Width = width;
        ClassNames = classNames;
    }

    public string Name { get; }
    public int Count => _labels.Length;
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public IReadOnlyList<string> ClassNames { get; }
    public int ClassCount => ClassNames.Count;

    /// <summary>Bytes per image, C*H*W.</summary>
    public int ImageSize => Channels * Height * Width;

    /// <summary>All pixels, [N, C, H, W].</summary>
    public ReadOnlySpan<byte> Pixels => _pixels;

    /// <summary>All labels, [N].</summary>
    public ReadOnlySpan<int> Labels => _labels;

    /// <summary>Image <paramref name="index"/>, [C, H, W].</summary>
    public ReadOnlySpan<byte> Image(int index) => _pixels.AsSpan(checked(index * ImageSize), ImageSize);

    public int Label(int index) => _labels[index];

    /// <summary><paramref name="first"/>'s images then <paramref name="second"/>'s (copied), for a split made of two files (SVHN train + extra).</summary>
    public static ImageDataset Concat(string name, ImageDataset first, ImageDataset second)
    {
        if ((first.Channels, first.Height, first.Width) != (second.Channels, second.Height, second.Width) || !first.ClassNames.SequenceEqual(second.ClassNames))
            throw new ArgumentException($"dataset {name}: {first.Name} and {second.Name} differ in image shape or classes");
        return new ImageDataset(name, [.. first._pixels, .. second._pixels], [.. first._labels, .. second._labels],
            first.Channels, first.Height, first.Width, first.ClassNames);
    }

    /// <summary>The first <paramref name="count"/> images (copied), for quick runs.</summary>
    public ImageDataset Take(int count)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), $"dataset {Name}: cannot take {count} images");
        count = Math.Min(count, Count);
        return new ImageDataset(Name, _pixels.AsSpan(0, count * ImageSize).ToArray(), _labels.AsSpan(0, count).ToArray(),
            Channels, Height, Width, ClassNames);
    }
}
