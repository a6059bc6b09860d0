using System.Buffers;
using SkiaSharp;

namespace Igcv3.Train.Data.Images;

/// <summary>
/// Decodes JPEG and PNG (and the other formats Skia reads) to 8-bit RGB through SkiaSharp: JPEG
/// with libjpeg-turbo, PNG with libpng. Greyscale and CMYK JPEGs come out as RGB (Skia converts
/// them); an alpha channel is dropped without compositing, as PIL's convert("RGB") does; no colour
/// profile is applied and the EXIF orientation is ignored, as torchvision's PIL loader does. A file
/// that is not an image, or whose data ends early or is damaged, throws
/// <see cref="CorruptImageException"/> (a truncated JPEG is an error, as in PIL, not a grey tail).
/// Thread-safe: every call has its own codec.
/// </summary>
public static class ImageDecoder
{
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
    public static RgbImage Decode(ReadOnlySpan<byte> encoded, string source) => Decode(encoded, source, minShorterSide: 0);

    /// <summary>
    /// Decodes <paramref name="encoded"/>, letting a JPEG be decoded at 1/2, 1/4 or 1/8 of its size
    /// in the DCT domain (libjpeg-turbo's scaled IDCT, far cheaper than a full decode) as long as
    /// the shorter side stays at least <paramref name="minShorterSide"/>; 0 decodes at full size.
    /// A reduced decode is not the same pixels as a full decode resized: use it only where that is
    /// acceptable (it is off in the trainer's transforms, which follow torchvision's).
    /// </summary>
    public static RgbImage Decode(ReadOnlySpan<byte> encoded, string source, int minShorterSide)
    {
        if (encoded.IsEmpty) throw new CorruptImageException(source, "the file is empty");
        unsafe
        {
            // The codec reads the caller's bytes in place (no copy); both are gone before the bytes can move.
            fixed (byte* bytes = encoded)
            {
                using var data = SKData.Create((nint)bytes, encoded.Length);
                return Decode(data, source, minShorterSide);
            }
        }
    }

    private static RgbImage Decode(SKData data, string source, int minShorterSide)
    {
        using var codec = SKCodec.Create(data);
        if (codec is null)
            throw new CorruptImageException(source, "not a JPEG or PNG image, or its header is damaged");

        var size = codec.Info.Size;
        if (size.Width <= 0 || size.Height <= 0) throw new CorruptImageException(source, $"its size is {size.Width}x{size.Height}");
        if (minShorterSide > 0) size = ScaledSize(codec, minShorterSide);

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

    /// <summary>The smallest size the codec can decode to whose shorter side is still at least <paramref name="minShorterSide"/>.</summary>
    private static SKSizeI ScaledSize(SKCodec codec, int minShorterSide)
    {
        var full = codec.Info.Size;
        var best = full;
        foreach (float scale in new[] { 0.5f, 0.25f, 0.125f })
        {
            var scaled = codec.GetScaledDimensions(scale);
            if (Math.Min(scaled.Width, scaled.Height) < minShorterSide || scaled == best) break;
            best = scaled;
        }
        return best;
    }
}
