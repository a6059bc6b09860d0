using Igcv3.Train.Data.Images;

namespace Igcv3.Tests.Train.Images;

/// <summary>
/// The antialiased bilinear resize written directly from its definition, in double and without
/// any intermediate rounding: output pixel (x, y) is the triangle-filter-weighted mean of the input
/// over a support widened by the downscale factor, centred at ((x + 0.5) * scale) in input
/// coordinates. The fixed-point, two-pass <see cref="BilinearResize"/> must stay within one grey
/// level of it.
/// </summary>
public static class ReferenceResize
{
    public static double[] Resize(RgbImage image, int outWidth, int outHeight) // [outHeight, outWidth, 3]
    {
        var wx = Weights(image.Width, outWidth);
        var wy = Weights(image.Height, outHeight);
        var output = new double[outWidth * outHeight * 3];
        for (int y = 0; y < outHeight; y++)
        for (int x = 0; x < outWidth; x++)
        for (int c = 0; c < 3; c++)
        {
            double sum = 0;
            foreach (var (sy, ky) in wy[y])
            foreach (var (sx, kx) in wx[x])
                sum += ky * kx * image.At(sx, sy, c);
            output[(y * outWidth + x) * 3 + c] = sum;
        }
        return output;
    }

    private static List<(int Index, double Weight)>[] Weights(int inSize, int outSize)
    {
        double scale = (double)inSize / outSize, support = Math.Max(scale, 1);
        var all = new List<(int, double)>[outSize];
        for (int o = 0; o < outSize; o++)
        {
            double center = (o + 0.5) * scale;
            var list = new List<(int, double)>();
            for (int i = 0; i < inSize; i++)
            {
                double t = Math.Abs(i + 0.5 - center) / support;
                if (t < 1) list.Add((i, 1 - t));
            }
            double total = list.Sum(e => e.Item2);
            all[o] = list.Select(e => (e.Item1, e.Item2 / total)).ToList();
        }
        return all;
    }
}
