namespace Igcv3.Train.Data.Images;

/// <summary>
/// An image file that cannot be decoded: not an image, an unsupported format, or truncated or
/// damaged data. <see cref="Source"/> names the file (or record) so a loader can report and skip it.
/// </summary>
public sealed class CorruptImageException : Exception
{
    public CorruptImageException(string source, string reason)
        : base($"cannot decode image {source}: {reason}")
    {
        Source = source;
        Reason = reason;
    }

    /// <summary>The file or record the bytes came from.</summary>
    public new string Source { get; }

    /// <summary>What went wrong, without the file name.</summary>
    public string Reason { get; }
}
