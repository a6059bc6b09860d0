namespace Igcv3.Train.Data.Images;

/// <summary>
/// An image as decoded: <see cref="Pixels"/> is the FullWidth x FullHeight image at
/// <see cref="Scale"/> of its size (a JPEG reduced in the DCT domain by M/8; 1 at full size).
/// Pixel x of the full image is at x * Scale in <see cref="Pixels"/>; transforms draw their crops
/// from the full size, so that the random draws do not depend on the scale of the decode.
/// </summary>
public sealed record DecodedImage(RgbImage Pixels, int FullWidth, int FullHeight, double Scale)
{
    /// <summary>An image decoded at full size.</summary>
    public static DecodedImage Full(RgbImage pixels) => new(pixels, pixels.Width, pixels.Height, 1);
}
