using System.Buffers;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Igcv3.Train.Data.Images;

/// <summary>
/// Antialiased bilinear resampling of 8-bit RGB, the arithmetic of Pillow's Image.resize(BILINEAR)
/// that torchvision's Resize and RandomResizedCrop use on PIL images: a triangle filter whose
/// support widens by the downscale factor, separable, horizontal pass first, coefficients in
/// 22-bit fixed point, the intermediate rounded to bytes. Written out from that definition so that
/// our crops match torchvision's (the tests allow one grey level of difference).
/// </summary>
public static class BilinearResize
{
    private const int PrecisionBits = 32 - 8 - 2;

    /// <summary>
    /// Crops <paramref name="crop"/> out of <paramref name="source"/>, resizes the crop to
    /// <paramref name="outWidth"/> x <paramref name="outHeight"/>, and returns the part
    /// <paramref name="window"/> of that resized image. Only the window's pixels are computed, each
    /// exactly as in the full resize: torchvision's Resize then CenterCrop is
    /// (crop = whole image, window = centre), its RandomResizedCrop (crop = the drawn box, window = whole output).
    /// </summary>
    public static RgbImage CropResize(RgbImage source, PixelBox crop, int outWidth, int outHeight, PixelBox window)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!crop.IsInside(source.Width, source.Height))
            throw new ArgumentException($"resize: crop {crop} is not inside the {source.Width}x{source.Height} image");
        return Resize(source, crop, (0, 0, crop.Width, crop.Height), outWidth, outHeight, window);
    }

    /// <summary>
    /// Resizes the region [x0, x1) x [y0, y1) of <paramref name="source"/>, in fractional pixel
    /// coordinates (Pillow's resize with a float box), to <paramref name="outWidth"/> x
    /// <paramref name="outHeight"/> and returns its part <paramref name="window"/>. The filter reads
    /// only the pixels that the region covers (the integer box around it), as if the image had been
    /// cropped there: a crop of the full image mapped onto a reduced decode of it.
    /// </summary>
    public static RgbImage RegionResize(RgbImage source, double x0, double y0, double x1, double y1, int outWidth, int outHeight, PixelBox window)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!(x0 >= 0 && y0 >= 0 && x1 > x0 && y1 > y0 && x1 <= source.Width + 1e-9 && y1 <= source.Height + 1e-9))
            throw new ArgumentException($"resize: region [{x0}, {x1}) x [{y0}, {y1}) is not inside the {source.Width}x{source.Height} image");
        int left = (int)Math.Floor(x0), top = (int)Math.Floor(y0);
        int right = Math.Min((int)Math.Ceiling(x1 - 1e-9), source.Width), bottom = Math.Min((int)Math.Ceiling(y1 - 1e-9), source.Height);
        var crop = new PixelBox(left, top, Math.Max(right - left, 1), Math.Max(bottom - top, 1));
        return Resize(source, crop, (x0 - left, y0 - top, Math.Min(x1 - left, crop.Width), Math.Min(y1 - top, crop.Height)), outWidth, outHeight, window);
    }

    /// <summary>Resizes <paramref name="region"/> (coordinates inside <paramref name="crop"/>) of the crop of <paramref name="source"/>.</summary>
    private static RgbImage Resize(RgbImage source, PixelBox crop, (double X0, double Y0, double X1, double Y1) region, int outWidth, int outHeight, PixelBox window)
    {
        if (outWidth <= 0 || outHeight <= 0) throw new ArgumentException($"resize: output size must be positive, got {outWidth}x{outHeight}");
        if (!window.IsInside(outWidth, outHeight))
            throw new ArgumentException($"resize: window {window} is not inside the {outWidth}x{outHeight} output");

        var columns = Coefficients.For(crop.Width, region.X0, region.X1, outWidth, window.X, window.Width);
        var rows = Coefficients.For(crop.Height, region.Y0, region.Y1, outHeight, window.Y, window.Height);

        // Rows of the crop that the vertical pass reads.
        int firstRow = rows.Start[0], endRow = rows.Start[^1] + rows.Length[^1];
        for (int r = 1; r < window.Height; r++) firstRow = Math.Min(firstRow, rows.Start[r]);

        int tempRows = endRow - firstRow;
        // Pillow skips a pass whose axis keeps its size and box (then the copy is exact).
        bool horizontal = !(region.X0 == 0 && region.X1 == crop.Width && outWidth == crop.Width);
        bool vertical = !(region.Y0 == 0 && region.Y1 == crop.Height && outHeight == crop.Height);
        // Pooled: the intermediate is a large-object-heap array for ImageNet sizes.
        var temp = ArrayPool<byte>.Shared.Rent(tempRows * window.Width * 3);
        try
        {
            return Resample(source, crop, window, columns, rows, firstRow, tempRows, horizontal, vertical, temp);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(temp);
        }
    }

    private static RgbImage Resample(RgbImage source, PixelBox crop, PixelBox window, Coefficients columns, Coefficients rows,
        int firstRow, int tempRows, bool horizontal, bool vertical, byte[] temp)
    {
        // Horizontal pass into temp [tempRows, window.Width, 3]; skipped, as in Pillow, when the width does not change.
        byte[] src = source.Pixels;
        int width3 = window.Width * 3;
        for (int ty = 0; ty < tempRows; ty++)
        {
            int rowOffset = ((crop.Y + firstRow + ty) * source.Width + crop.X) * 3;
            if (!horizontal)
            {
                Array.Copy(src, rowOffset + window.X * 3, temp, ty * width3, width3);
                continue;
            }
            // The vector form reads a fourth byte past each tap's pixel: not past the image's last byte.
            int lastTapEnd = rowOffset + (columns.Start[^1] + columns.Length[^1]) * 3;
            if (Sse41.IsSupported && lastTapEnd < src.Length) HorizontalRowVector(src, rowOffset, temp, ty * width3, columns, window.Width);
            else HorizontalRowScalar(src, rowOffset, temp, ty * width3, columns, window.Width);
        }

        // Vertical pass: [window.Height, window.Width, 3]; skipped when the height does not change.
        int stride = window.Width * 3;
        var output = new byte[window.Height * stride];
        var accumulator = ArrayPool<int>.Shared.Rent(stride);
        for (int y = 0; y < window.Height; y++)
        {
            int start = rows.Start[y] - firstRow, length = rows.Length[y];
            if (!vertical)
            {
                Array.Copy(temp, start * stride, output, y * stride, stride);
                continue;
            }
            // Row by row (tap-major), so every read runs along a row: the same integer sums in another order.
            ReadOnlySpan<int> k = rows.Weights.AsSpan(y * rows.Size, length);
            int done = Avx2.IsSupported ? VerticalRowVector(temp, start * stride, stride, k, output, y * stride) : 0;
            Span<int> sums = accumulator.AsSpan(done, stride - done);
            sums.Fill(1 << (PrecisionBits - 1));
            for (int i = 0; i < length; i++)
            {
                int weight = k[i];
                ReadOnlySpan<byte> row = temp.AsSpan((start + i) * stride + done, stride - done);
                for (int e = 0; e < sums.Length; e++) sums[e] += row[e] * weight;
            }
            Span<byte> target = output.AsSpan(y * stride + done, stride - done);
            for (int e = 0; e < target.Length; e++) target[e] = Clip8(sums[e]);
        }
        ArrayPool<int>.Shared.Return(accumulator);
        return new RgbImage(window.Width, window.Height, output);
    }

    /// <summary>One row of the horizontal pass, pixel by pixel: R, G and B sums of each output pixel's taps.</summary>
    private static unsafe void HorizontalRowScalar(byte[] src, int rowOffset, byte[] temp, int tempOffset, Coefficients columns, int width)
    {
        // Pointers: the per-tap bounds checks cost as much as the arithmetic here.
        fixed (byte* srcRow = &src[rowOffset], tempRow = &temp[tempOffset])
        fixed (int* weights = columns.Weights)
        {
            for (int x = 0; x < width; x++)
            {
                int length = columns.Length[x];
                int* k = weights + x * columns.Size;
                byte* p = srcRow + columns.Start[x] * 3;
                int r = 1 << (PrecisionBits - 1), g = r, b = r;
                for (int i = 0; i < length; i++, p += 3)
                {
                    r += p[0] * k[i];
                    g += p[1] * k[i];
                    b += p[2] * k[i];
                }
                tempRow[x * 3] = Clip8(r);
                tempRow[x * 3 + 1] = Clip8(g);
                tempRow[x * 3 + 2] = Clip8(b);
            }
        }
    }

    /// <summary>
    /// The same row with R, G, B (and a fourth byte, ignored) of a tap in one SSE register: one
    /// widening load, one multiply and one add per tap instead of three of each. The same integer sums.
    /// </summary>
    private static unsafe void HorizontalRowVector(byte[] src, int rowOffset, byte[] temp, int tempOffset, Coefficients columns, int width)
    {
        fixed (byte* srcRow = &src[rowOffset], tempRow = &temp[tempOffset])
        fixed (int* weights = columns.Weights, starts = columns.Start, lengths = columns.Length)
        {
            var half = Vector128.Create(1 << (PrecisionBits - 1));
            var top = Vector128.Create(255);
            for (int x = 0; x < width; x++)
            {
                int length = lengths[x];
                int* k = weights + x * columns.Size;
                byte* p = srcRow + starts[x] * 3;
                var sum = half;
                for (int i = 0; i < length; i++, p += 3)
                    sum = Sse2.Add(sum, Sse41.MultiplyLow(Sse41.ConvertToVector128Int32(p), Vector128.Create(k[i])));
                // Clip8 per lane: the arithmetic shift then a clamp to [0, 255] gives the same bytes.
                var clipped = Sse41.Min(Sse41.Max(Sse2.ShiftRightArithmetic(sum, PrecisionBits), Vector128<int>.Zero), top);
                byte* t = tempRow + x * 3;
                t[0] = (byte)clipped.GetElement(0);
                t[1] = (byte)clipped.GetElement(1);
                t[2] = (byte)clipped.GetElement(2);
            }
        }
    }

    /// <summary>
    /// The vertical pass of one output row, 32 bytes at a time in AVX2 registers (eight lanes of
    /// int sums, four registers); returns how many of the row's bytes it wrote (a multiple of 32):
    /// the caller finishes the rest one by one. The same integer sums as the scalar loop.
    /// </summary>
    private static unsafe int VerticalRowVector(byte[] temp, int rowStart, int stride, ReadOnlySpan<int> weights, byte[] output, int outputOffset)
    {
        int blocks = stride / 32 * 32;
        if (blocks == 0) return 0;
        var half = Vector256.Create(1 << (PrecisionBits - 1));
        var top = Vector256.Create(255);
        fixed (byte* rows = &temp[rowStart], target = &output[outputOffset])
        fixed (int* k = weights)
        {
            for (int e = 0; e < blocks; e += 32)
            {
                Vector256<int> s0 = half, s1 = half, s2 = half, s3 = half;
                byte* p = rows + e;
                for (int i = 0; i < weights.Length; i++, p += stride)
                {
                    var w = Vector256.Create(k[i]);
                    s0 = Avx2.Add(s0, Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(p), w));
                    s1 = Avx2.Add(s1, Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(p + 8), w));
                    s2 = Avx2.Add(s2, Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(p + 16), w));
                    s3 = Avx2.Add(s3, Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(p + 24), w));
                }
                Vector256<int> Clip(Vector256<int> v) => Avx2.Min(Avx2.Max(Avx2.ShiftRightArithmetic(v, PrecisionBits), Vector256<int>.Zero), top);
                // Values are in [0, 255] now, so the truncating narrowings are exact.
                var bytes = Vector256.Narrow(Vector256.Narrow(Clip(s0), Clip(s1)), Vector256.Narrow(Clip(s2), Clip(s3)));
                Vector256.Store(Vector256.AsByte(bytes), target + e);
            }
        }
        return blocks;
    }

    private static byte Clip8(int value) => value <= 0 ? (byte)0 : value >= (255 << PrecisionBits) ? (byte)255 : (byte)(value >> PrecisionBits);

    /// <summary>
    /// Each output position's source range and fixed-point weights along one axis, for outputs
    /// [first, first + count) of a resize of [in0, in1) of an axis of inSize pixels to outSize
    /// (Pillow's precompute_coeffs and normalize_coeffs_8bpc; taps clamped to [0, inSize)).
    /// </summary>
    private sealed class Coefficients
    {
        public required int[] Start { get; init; }
        public required int[] Length { get; init; }
        public required int[] Weights { get; init; } // [count, Size]
        public required int Size { get; init; }

        public static Coefficients For(int inSize, double in0, double in1, int outSize, int first, int count)
        {
            double scale = (in1 - in0) / outSize;
            double filterScale = Math.Max(scale, 1.0);
            double support = filterScale; // the triangle filter's support is 1
            int size = (int)Math.Ceiling(support) * 2 + 1;
            var start = new int[count];
            var length = new int[count];
            var weights = new int[count * size];
            var w = new double[size];
            double inverse = 1.0 / filterScale;
            for (int o = 0; o < count; o++)
            {
                double center = in0 + (first + o + 0.5) * scale;
                int min = Math.Max((int)(center - support + 0.5), 0);
                int max = Math.Min((int)(center + support + 0.5), inSize) - min;
                double total = 0;
                for (int i = 0; i < max; i++)
                {
                    double t = Math.Abs((i + min - center + 0.5) * inverse);
                    w[i] = t < 1 ? 1 - t : 0;
                    total += w[i];
                }
                for (int i = 0; i < max; i++)
                {
                    double normalised = total != 0 ? w[i] / total : w[i];
                    weights[o * size + i] = (int)(normalised < 0 ? -0.5 + normalised * (1 << PrecisionBits) : 0.5 + normalised * (1 << PrecisionBits));
                }
                start[o] = min;
                length[o] = max;
            }
            return new Coefficients { Start = start, Length = length, Weights = weights, Size = size };
        }
    }
}
