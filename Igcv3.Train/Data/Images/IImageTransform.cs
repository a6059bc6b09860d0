namespace Igcv3.Train.Data.Images;

/// <summary>
/// Turns one decoded image into one normalised [Size, Size, 3] slice of an NHWC batch. A random
/// transform draws everything from the <see cref="Random"/> it is given, which the loader seeds
/// from (seed, epoch, image index) alone, so that the result depends on nothing else. Its draws
/// depend on the image's full size only, never on the scale it was decoded at.
/// </summary>
public interface IImageTransform
{
    /// <summary>Side of the square output.</summary>
    int Size { get; }

    /// <summary>
    /// The smallest scale of a <paramref name="width"/> x <paramref name="height"/> image at which
    /// this output (with the draws of a generator seeded as <paramref name="random"/>) is still made
    /// by shrinking only: a decode at least that large loses nothing the output could show.
    /// Draws from <paramref name="random"/> as <see cref="Write"/> does; give it a generator of its own.
    /// </summary>
    double MinimumScale(int width, int height, Random random);

    /// <summary>Writes the output of <paramref name="image"/>, decoded at full size or reduced (<see cref="DecodedImage.Scale"/>).</summary>
    void Write(DecodedImage image, Random random, ChannelNormalization normalization, Span<float> destination);
}
