namespace Igcv3.Train.Data.Images;

/// <summary>
/// Turns one decoded image into one normalised [Size, Size, 3] slice of an NHWC batch. A random
/// transform draws everything from the <see cref="Random"/> it is given, which the loader seeds
/// from (seed, epoch, image index) alone, so that the result depends on nothing else.
/// </summary>
public interface IImageTransform
{
    /// <summary>Side of the square output.</summary>
    int Size { get; }

    void Write(RgbImage image, Random random, ChannelNormalization normalization, Span<float> destination);
}
