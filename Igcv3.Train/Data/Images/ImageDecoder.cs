using System.Buffers;
using SkiaSharp;

namespace Igcv3.Train.Data.Images;

/// <summary>
/// Decodes JPEG and PNG (and the other formats Skia reads) to 8-bit RGB: a JPEG through the
/// system's libjpeg-turbo where libturbojpeg0 is installed (<see cref="TurboJpeg"/>: twice as fast
/// as Skia's x64 build, same bytes), else, and for everything TurboJPEG does not decode cleanly,
/// through SkiaSharp (JPEG with its own libjpeg-turbo, PNG with libpng). Greyscale and CMYK JPEGs come out as RGB (Skia converts
/// them); an alpha channel is dropped without compositing, as PIL's convert("RGB") does; no colour
/// profile is applied and the EXIF orientation is ignored, as torchvision's PIL loader does. A file
/// that is not an image, or whose data ends early or is damaged, throws
/// <see cref="CorruptImageException"/> (a truncated JPEG is an error, as in PIL, not a grey tail).
/// Thread-safe: every call has its own codec.
/// </summary>
public static class ImageDecoder
{
    /// <summary>Whether JPEGs are decoded by the system's libjpeg-turbo (libturbojpeg0 installed), not Skia's slower build.</summary>
    public static bool FastJpeg => TurboJpeg.Available;

    /// <summary>Decodes the file at <paramref name="path"/>.</summary>
    public static RgbImage DecodeFile(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (IOException e)
        {
            throw new CorruptImageException(path, $"cannot be read ({e.Message})");
        }
        return Decode(bytes, path);
    }

    /// <summary>Decodes <paramref name="encoded"/> at full size; <paramref name="source"/> names it in errors.</summary>
    public static RgbImage Decode(ReadOnlySpan<byte> encoded, string source) => Decode(encoded, source, eighths: 8);

    /// <summary>The full size of the image, from its header alone.</summary>
    public static (int Width, int Height) ReadSize(ReadOnlySpan<byte> encoded, string source)
    {
        if (TurboJpeg.TryReadSize(encoded, out int width, out int height)) return (width, height);
        if (encoded.IsEmpty) throw new CorruptImageException(source, "the file is empty");
        unsafe
        {
            // The codec reads the caller's bytes in place (no copy); both are gone before the bytes can move.
            fixed (byte* bytes = encoded)
            {
                using var data = SKData.Create((nint)bytes, encoded.Length);
                using var codec = SKCodec.Create(data);
                if (codec is null) throw new CorruptImageException(source, "not a JPEG or PNG image, or its header is damaged");
                return (codec.Info.Width, codec.Info.Height);
            }
        }
    }

    /// <summary>
    /// Decodes <paramref name="encoded"/> no smaller than <paramref name="minimumScale"/> (given the
    /// full width and height) asks: a JPEG at 1/2, 1/4 or 1/8 of its size where that is still at
    /// least as large (PIL's draft mode: libjpeg-turbo's scaled IDCT, less work than a full decode,
    /// and the resize after it shrinks less), else, and any other format, at full size. Not the
    /// same pixels as a full decode (see ImageBatchLoader.JpegDraft). Only powers of two: the
    /// 3/8 to 7/8 IDCTs have no SIMD code in libjpeg-turbo and decode slower than the full size
    /// (measured on the bench's 500x375 JPEGs: 6/8 1.8 ms, 8/8 1.4 ms, 4/8 1.2 ms, 1/8 0.9 ms CPU).
    /// </summary>
    public static DecodedImage DecodeAtLeast(ReadOnlySpan<byte> encoded, string source, Func<int, int, double> minimumScale)
    {
        var (width, height) = ReadSize(encoded, source);
        double needed = minimumScale(width, height);
        int eighths = 8;
        // Tiny images are not reduced: with few blocks the rounding of the scaled size gets coarse.
        while (eighths > 1 && eighths / 16.0 >= needed - 1e-9 && Math.Min(width, height) * eighths / 16 >= 32) eighths /= 2;
        var pixels = Decode(encoded, source, eighths);
        if (pixels.Width == width && pixels.Height == height) return new DecodedImage(pixels, width, height, 1);
        return new DecodedImage(pixels, width, height, eighths / 8.0);
    }

    /// <summary>Decodes at <paramref name="eighths"/>/8 of the size where that is a JPEG's, else at full size.</summary>
    private static RgbImage Decode(ReadOnlySpan<byte> encoded, string source, int eighths)
    {
        if (TurboJpeg.TryDecode(encoded, eighths, out var fast)) return fast!;
        if (encoded.IsEmpty) throw new CorruptImageException(source, "the file is empty");
        unsafe
        {
            fixed (byte* bytes = encoded)
            {
                using var data = SKData.Create((nint)bytes, encoded.Length);
                return Decode(data, source, eighths);
            }
        }
    }

    private static RgbImage Decode(SKData data, string source, int eighths)
    {
        using var codec = SKCodec.Create(data);
        if (codec is null)
            throw new CorruptImageException(source, "not a JPEG or PNG image, or its header is damaged");

        var size = codec.Info.Size;
        if (size.Width <= 0 || size.Height <= 0) throw new CorruptImageException(source, $"its size is {size.Width}x{size.Height}");
        if (eighths < 8)
        {
            // Skia's JPEG codec scales by M/8 as libjpeg does; anything else (PNG) stays at full size.
            var scaled = codec.GetScaledDimensions(eighths / 8f);
            if (scaled.Width == TurboJpeg.ScaledSide(size.Width, eighths) && scaled.Height == TurboJpeg.ScaledSide(size.Height, eighths)) size = scaled;
        }

        // RGBA, unpremultiplied, no colour space: the colour values as stored, alpha kept apart.
        var info = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        // Pooled: an RGBA frame is a large-object-heap array, and one per image would keep the GC busy.
        var rgba = ArrayPool<byte>.Shared.Rent(info.BytesSize);
        try
        {
            SKCodecResult result;
            unsafe
            {
                fixed (byte* destination = rgba)
                    result = codec.GetPixels(info, (nint)destination);
            }
            if (result != SKCodecResult.Success)
                throw new CorruptImageException(source, result == SKCodecResult.IncompleteInput
                    ? "the data ends early (a truncated file)"
                    : $"the data is damaged (Skia: {result})");

            int pixels = size.Width * size.Height;
            var rgb = new byte[pixels * 3];
            unsafe
            {
                fixed (byte* from = rgba, to = rgb)
                    for (int p = 0; p < pixels; p++)
                    {
                        to[p * 3] = from[p * 4];
                        to[p * 3 + 1] = from[p * 4 + 1];
                        to[p * 3 + 2] = from[p * 4 + 2];
                    }
            }
            return new RgbImage(size.Width, size.Height, rgb);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rgba);
        }
    }
}
