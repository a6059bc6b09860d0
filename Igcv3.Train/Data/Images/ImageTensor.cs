using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Igcv3.Train.Data.Images;

/// <summary>
/// An RGB image as normalised floats, (pixel / 255 - mean[c]) / std[c] (torchvision's ToTensor +
/// Normalize), in either layout: CHW (one image as PyTorch holds it) or HWC (one image of an
/// NHWC batch, the engine's activation layout).
/// </summary>
public static class ImageTensor
{
    /// <summary>destination[c, y, x] = norm_c(image[y, x, c]), [3, H, W].</summary>
    public static void WriteChw(RgbImage image, ChannelNormalization normalization, Span<float> destination)
    {
        int plane = Check(image, normalization, destination);
        var (scale, bias, pixels) = (normalization.Scale, normalization.Bias, image.Pixels);
        for (int c = 0; c < 3; c++)
        {
            var channel = destination.Slice(c * plane, plane);
            for (int p = 0; p < plane; p++) channel[p] = pixels[p * 3 + c] * scale[c] + bias[c];
        }
    }

    /// <summary>destination[y, x, c] = norm_c(image[y, x, c]), [H, W, 3].</summary>
    public static void WriteHwc(RgbImage image, ChannelNormalization normalization, Span<float> destination)
    {
        int plane = Check(image, normalization, destination);
        var (scale, bias, pixels) = (normalization.Scale, normalization.Bias, image.Pixels);
        float s0 = scale[0], s1 = scale[1], s2 = scale[2], b0 = bias[0], b1 = bias[1], b2 = bias[2];
        int first = Avx2.IsSupported ? WriteHwcVector(pixels, [s0, s1, s2], [b0, b1, b2], destination) / 3 : 0;
        for (int p = first; p < plane; p++)
        {
            destination[p * 3] = pixels[p * 3] * s0 + b0;
            destination[p * 3 + 1] = pixels[p * 3 + 1] * s1 + b1;
            destination[p * 3 + 2] = pixels[p * 3 + 2] * s2 + b2;
        }
    }

    /// <summary>
    /// The HWC loop 24 values (8 pixels) at a time: three AVX registers whose lanes cycle R G B,
    /// each with its own scale and bias pattern. Returns how many values it wrote (a multiple of 24).
    /// The same float operations per value as the scalar loop (a multiply, then an add: no fused multiply-add).
    /// </summary>
    private static unsafe int WriteHwcVector(byte[] pixels, ReadOnlySpan<float> scale, ReadOnlySpan<float> bias, Span<float> destination)
    {
        int count = destination.Length / 24 * 24;
        // Lane i of register r holds channel (8r + i) mod 3.
        Span<float> pattern = stackalloc float[48];
        for (int i = 0; i < 24; i++) (pattern[i], pattern[24 + i]) = (scale[i % 3], bias[i % 3]);
        fixed (float* lanes = pattern, target = destination)
        fixed (byte* source = pixels)
        {
            Vector256<float> sa = Avx.LoadVector256(lanes), sb = Avx.LoadVector256(lanes + 8), sc = Avx.LoadVector256(lanes + 16);
            Vector256<float> ba = Avx.LoadVector256(lanes + 24), bb = Avx.LoadVector256(lanes + 32), bc = Avx.LoadVector256(lanes + 40);
            for (int e = 0; e < count; e += 24)
            {
                var a = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(source + e));
                var b = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(source + e + 8));
                var c = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(source + e + 16));
                Avx.Store(target + e, Avx.Add(Avx.Multiply(a, sa), ba));
                Avx.Store(target + e + 8, Avx.Add(Avx.Multiply(b, sb), bb));
                Avx.Store(target + e + 16, Avx.Add(Avx.Multiply(c, sc), bc));
            }
        }
        return count;
    }

    /// <summary>A new [3, H, W] tensor of <paramref name="image"/>.</summary>
    public static float[] ToChw(RgbImage image, ChannelNormalization normalization)
    {
        var tensor = new float[3 * image.Width * image.Height];
        WriteChw(image, normalization, tensor);
        return tensor;
    }

    private static int Check(RgbImage image, ChannelNormalization normalization, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(normalization);
        if (normalization.Channels != 3) throw new ArgumentException($"image tensor: RGB needs a 3-channel normalisation, got {normalization.Channels}");
        int plane = image.Width * image.Height;
        if (destination.Length != 3 * plane)
            throw new ArgumentException($"image tensor: a {image.Width}x{image.Height} RGB image needs {3 * plane} floats, got {destination.Length}");
        return plane;
    }
}
