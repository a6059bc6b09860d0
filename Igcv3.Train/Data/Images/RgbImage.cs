namespace Igcv3.Train.Data.Images;

/// <summary>
/// A decoded 8-bit RGB image: Pixels [Height, Width, 3], row-major, channels interleaved (the
/// layout decoders write and resamplers read).
/// </summary>
public sealed class RgbImage
{
    public RgbImage(int width, int height, byte[] pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        if (width <= 0 || height <= 0) throw new ArgumentException($"image: size must be positive, got {width}x{height}");
        if (pixels.LongLength != 3L * width * height)
            throw new ArgumentException($"image: {width}x{height} RGB needs {3L * width * height} bytes, got {pixels.LongLength}");
        Width = width;
        Height = height;
        Pixels = pixels;
    }

    public int Width { get; }
    public int Height { get; }

    /// <summary>[Height, Width, 3] bytes, R G B.</summary>
    public byte[] Pixels { get; }

    /// <summary>Channel <paramref name="c"/> (0 = R) of pixel (x, y).</summary>
    public byte At(int x, int y, int c) => Pixels[(y * Width + x) * 3 + c];
}
