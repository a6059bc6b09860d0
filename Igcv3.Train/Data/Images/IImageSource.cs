namespace Igcv3.Train.Data.Images;

/// <summary>
/// A labelled set of encoded images read one at a time by index, for data sets too large to hold
/// decoded in memory (ImageNet): an image folder or a RecordIO file. Labels and names are known
/// up front; the bytes are read on demand. Read must be safe to call from many threads at once.
/// </summary>
public interface IImageSource
{
    /// <summary>What the set is, for messages: "ImageNet train (folder /data/imagenet/train)".</summary>
    string Name { get; }

    int Count { get; }

    IReadOnlyList<string> ClassNames { get; }

    /// <summary>Class of image <paramref name="index"/>, in [0, ClassNames.Count).</summary>
    int Label(int index);

    /// <summary>Where image <paramref name="index"/> comes from, for the log of a skipped file: its path, or the record.</summary>
    string Describe(int index);

    /// <summary>The encoded bytes (JPEG, PNG) of image <paramref name="index"/>; an unreadable
    /// file or record throws <see cref="CorruptImageException"/>.</summary>
    byte[] Read(int index);
}
