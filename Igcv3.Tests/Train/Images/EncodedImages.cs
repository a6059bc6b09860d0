using Igcv3.Train.Data.Images;
using SkiaSharp;

namespace Igcv3.Tests.Train.Images;

/// <summary>Images with known pixels, encoded by Skia's own encoders (not our decoder's code).</summary>
public static class EncodedImages
{
    public static byte[] Png(RgbImage image) => Encode(image, SKEncodedImageFormat.Png, 100);

    public static byte[] Jpeg(RgbImage image, int quality = 95) => Encode(image, SKEncodedImageFormat.Jpeg, quality);

    /// <summary>A one-channel (greyscale) PNG or JPEG of <paramref name="grey"/> [height, width].</summary>
    public static byte[] Grey(byte[] grey, int width, int height, SKEncodedImageFormat format)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
        System.Runtime.InteropServices.Marshal.Copy(grey, 0, bitmap.GetPixels(), grey.Length);
        using var data = bitmap.Encode(format, 95);
        return data.ToArray();
    }

    /// <summary>A PNG with an alpha channel: RGB from <paramref name="image"/>, alpha constant.</summary>
    public static byte[] PngWithAlpha(RgbImage image, byte alpha) => Encode(image, SKEncodedImageFormat.Png, 100, alpha);

    private static byte[] Encode(RgbImage image, SKEncodedImageFormat format, int quality, byte alpha = 255)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, alpha == 255 ? SKAlphaType.Opaque : SKAlphaType.Unpremul));
        var rgba = new byte[image.Width * image.Height * 4];
        for (int p = 0; p < image.Width * image.Height; p++)
        {
            rgba[p * 4] = image.Pixels[p * 3];
            rgba[p * 4 + 1] = image.Pixels[p * 3 + 1];
            rgba[p * 4 + 2] = image.Pixels[p * 3 + 2];
            rgba[p * 4 + 3] = alpha;
        }
        System.Runtime.InteropServices.Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        using var data = bitmap.Encode(format, quality);
        return data.ToArray();
    }

    /// <summary>An image whose pixel (x, y) is <paramref name="pixel"/>(x, y).</summary>
    public static RgbImage Make(int width, int height, Func<int, int, (byte R, byte G, byte B)> pixel)
    {
        var bytes = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
        {
            var (r, g, b) = pixel(x, y);
            int p = (y * width + x) * 3;
            (bytes[p], bytes[p + 1], bytes[p + 2]) = (r, g, b);
        }
        return new RgbImage(width, height, bytes);
    }

    /// <summary>Random pixels.</summary>
    public static RgbImage Random(int width, int height, int seed)
    {
        var bytes = new byte[width * height * 3];
        new System.Random(seed).NextBytes(bytes);
        return new RgbImage(width, height, bytes);
    }

    /// <summary>
    /// <paramref name="jpeg"/> with an EXIF APP1 segment right after SOI whose Orientation tag is
    /// <paramref name="orientation"/> (6 = rotate 90 degrees clockwise to display), written from
    /// the EXIF/TIFF definition: "Exif\0\0", a little-endian TIFF header, one IFD with one entry.
    /// </summary>
    public static byte[] WithExifOrientation(byte[] jpeg, ushort orientation)
    {
        var tiff = new List<byte> { (byte)'I', (byte)'I', 42, 0, 8, 0, 0, 0 }; // header, IFD at offset 8
        tiff.AddRange([1, 0]);                                                // one entry
        tiff.AddRange([0x12, 0x01, 3, 0, 1, 0, 0, 0]);                        // tag 0x0112 Orientation, SHORT, count 1
        tiff.AddRange([(byte)orientation, (byte)(orientation >> 8), 0, 0]);   // value, padded to 4 bytes
        tiff.AddRange([0, 0, 0, 0]);                                          // no next IFD
        var payload = "Exif\0\0"u8.ToArray().Concat(tiff).ToArray();
        int length = payload.Length + 2;
        var segment = new byte[] { 0xFF, 0xE1, (byte)(length >> 8), (byte)length }.Concat(payload);
        return jpeg.Take(2).Concat(segment).Concat(jpeg.Skip(2)).ToArray();
    }
}
