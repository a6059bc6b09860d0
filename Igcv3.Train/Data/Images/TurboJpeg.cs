using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Igcv3.Train.Data.Images;

/// <summary>
/// JPEG decoding through the system's libjpeg-turbo (its TurboJPEG API, Debian's libturbojpeg0),
/// the library that Debian's Pillow, and so torchvision, decodes with. Why beside SkiaSharp: the
/// libjpeg-turbo inside SkiaSharp's x64 build has its SIMD code turned off (Skia enables it on ARM
/// only), which makes its decode about twice as slow as Pillow's; this one has it (SSE2/AVX2), and
/// its accurate integer IDCT and fancy upsampling give the same bytes as the scalar code. It also
/// decodes straight to RGB, and at M/8 of the size in the DCT domain.
/// Only a clean decode is taken: anything TurboJPEG warns about or refuses (a truncated or damaged
/// file, CMYK, a format other than JPEG) returns false, and <see cref="ImageDecoder"/> decodes it
/// with Skia, which decides as before. Not there (a machine without libturbojpeg0): <see cref="Available"/>
/// is false and Skia decodes everything. Thread-safe: each call takes a decompressor from a pool.
/// </summary>
internal static class TurboJpeg
{
    private const string Library = "libturbojpeg.so.0";
    private const int PixelFormatRgb = 0;      // TJPF_RGB
    private const int ColourspaceCmyk = 3;     // TJCS_CMYK
    private const int ColourspaceYcck = 4;     // TJCS_YCCK

    private static readonly ConcurrentBag<nint> Handles = [];

    /// <summary>Whether libturbojpeg could be loaded (once, at first use).</summary>
    public static bool Available { get; } = Probe();

    private static bool Probe()
    {
        // The Skia-only path can be forced, to measure it or to rule this library out.
        if (Environment.GetEnvironmentVariable("IGCV3_NO_TURBOJPEG") == "1") return false;
        if (!NativeLibrary.TryLoad(Library, typeof(TurboJpeg).Assembly, null, out var library)) return false;
        bool complete = NativeLibrary.TryGetExport(library, "tjDecompress2", out _) && NativeLibrary.TryGetExport(library, "tjDecompressHeader3", out _);
        return complete;
    }

    /// <summary>The size of a JPEG from its header; false where it is not a JPEG TurboJPEG can decode to RGB.</summary>
    public static unsafe bool TryReadSize(ReadOnlySpan<byte> jpeg, out int width, out int height)
    {
        width = height = 0;
        if (!Available || !LooksLikeJpeg(jpeg)) return false;
        nint handle = Rent();
        try
        {
            int w, h, subsampling, colourspace;
            fixed (byte* data = jpeg)
                if (tjDecompressHeader3(handle, data, (nuint)jpeg.Length, &w, &h, &subsampling, &colourspace) != 0) return false;
            if (colourspace is ColourspaceCmyk or ColourspaceYcck || w <= 0 || h <= 0) return false;
            (width, height) = (w, h);
            return true;
        }
        finally
        {
            Handles.Add(handle);
        }
    }

    /// <summary>
    /// Decodes <paramref name="jpeg"/> at <paramref name="eighths"/>/8 of its size (8: full size),
    /// ceil(size * eighths / 8) pixels per side as libjpeg rounds; false where the decode was not
    /// clean (the caller decodes it with Skia instead).
    /// </summary>
    public static unsafe bool TryDecode(ReadOnlySpan<byte> jpeg, int eighths, out RgbImage? image)
    {
        image = null;
        if (!TryReadSize(jpeg, out int width, out int height)) return false;
        int scaledWidth = ScaledSide(width, eighths), scaledHeight = ScaledSide(height, eighths);
        // Every byte is written by the decoder: no need to zero the array first.
        var pixels = GC.AllocateUninitializedArray<byte>(checked(scaledWidth * scaledHeight * 3));
        nint handle = Rent();
        try
        {
            int result;
            fixed (byte* data = jpeg, destination = pixels)
                result = tjDecompress2(handle, data, (nuint)jpeg.Length, destination, scaledWidth, scaledWidth * 3, scaledHeight, PixelFormatRgb, 0);
            // -1 is an error or a warning (a truncated file, damaged data): Skia decides those.
            if (result != 0) return false;
        }
        finally
        {
            Handles.Add(handle);
        }
        image = new RgbImage(scaledWidth, scaledHeight, pixels);
        return true;
    }

    /// <summary>libjpeg's scaled size: ceil(side * eighths / 8).</summary>
    public static int ScaledSide(int side, int eighths) => (int)(((long)side * eighths + 7) / 8);

    private static bool LooksLikeJpeg(ReadOnlySpan<byte> data) => data.Length > 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;

    private static nint Rent()
    {
        if (Handles.TryTake(out nint handle)) return handle;
        handle = tjInitDecompress();
        if (handle == 0) throw new OutOfMemoryException("libturbojpeg: tjInitDecompress failed");
        return handle;
    }

    [DllImport(Library)]
    private static extern nint tjInitDecompress();

    [DllImport(Library)]
    private static extern unsafe int tjDecompressHeader3(nint handle, byte* jpeg, nuint size, int* width, int* height, int* subsampling, int* colourspace);

    [DllImport(Library)]
    private static extern unsafe int tjDecompress2(nint handle, byte* jpeg, nuint size, byte* destination, int width, int pitch, int height, int pixelFormat, int flags);
}
