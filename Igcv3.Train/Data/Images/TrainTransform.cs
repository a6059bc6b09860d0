namespace Igcv3.Train.Data.Images;

/// <summary>
/// The ImageNet training transform, in torchvision's order: RandomResizedCrop(Size, scale,
/// ratio) with its algorithm (ten tries at a box of random area and log-uniform aspect ratio that
/// fits, else the whole image clamped to the ratio range, centred), RandomHorizontalFlip(0.5),
/// then the optional colour jitter (brightness, contrast, saturation and, with Hue, hue in a
/// random order, as ColorJitter) and AlexNet's PCA lighting noise (the official MXNet recipe's colour
/// augmentation), then normalisation. The draws, in order: the crop, the flip, the jitter, the lighting.
/// </summary>
public sealed class TrainTransform : IImageTransform
{
    /// <summary>AlexNet's ImageNet RGB eigenvalues and eigenvectors (columns), pixels in [0, 1] (fb.resnet.torch's values).</summary>
    private static readonly double[] EigenValues = [0.2175, 0.0188, 0.0045];
    private static readonly double[,] EigenVectors =
    {
        { -0.5675, 0.7192, 0.4009 },
        { -0.5808, -0.0045, -0.8140 },
        { -0.5836, -0.6948, 0.4203 },
    };

    public TrainTransform(int size = 224, double minScale = 0.08, double maxScale = 1.0, double minRatio = 3.0 / 4, double maxRatio = 4.0 / 3,
        bool flip = true, double jitter = 0, double lighting = 0, double hue = 0)
    {
        if (size <= 0) throw new ArgumentOutOfRangeException(nameof(size), $"train transform: size must be positive, got {size}");
        if (!(minScale > 0 && minScale <= maxScale && maxScale <= 1))
            throw new ArgumentException($"train transform: scale range must satisfy 0 < min <= max <= 1, got ({minScale}, {maxScale})");
        if (!(minRatio > 0 && minRatio <= maxRatio)) throw new ArgumentException($"train transform: ratio range must satisfy 0 < min <= max, got ({minRatio}, {maxRatio})");
        if (!(jitter >= 0 && jitter < 1)) throw new ArgumentOutOfRangeException(nameof(jitter), $"train transform: colour jitter must be in [0, 1), got {jitter}");
        if (!(lighting >= 0) || !double.IsFinite(lighting)) throw new ArgumentOutOfRangeException(nameof(lighting), $"train transform: lighting must be >= 0, got {lighting}");
        if (!(hue >= 0 && hue <= 0.5)) throw new ArgumentOutOfRangeException(nameof(hue), $"train transform: hue jitter must be in [0, 0.5], got {hue}");
        Size = size;
        (MinScale, MaxScale, MinRatio, MaxRatio) = (minScale, maxScale, minRatio, maxRatio);
        Flip = flip;
        Jitter = jitter;
        Lighting = lighting;
        Hue = hue;
    }

    public int Size { get; }
    public double MinScale { get; }
    public double MaxScale { get; }
    public double MinRatio { get; }
    public double MaxRatio { get; }
    public bool Flip { get; }

    /// <summary>Brightness, contrast and saturation factors uniform in [1 - Jitter, 1 + Jitter] (0: off).</summary>
    public double Jitter { get; }

    /// <summary>Standard deviation of the PCA lighting noise's coefficients (AlexNet: 0.1; 0: off).</summary>
    public double Lighting { get; }

    /// <summary>Hue shift uniform in [-Hue, Hue] turns of the colour wheel (ColorJitter's hue; at most 0.5; 0: off).</summary>
    public double Hue { get; }

    /// <summary>torchvision's RandomResizedCrop.get_params: the box to crop from a <paramref name="width"/> x <paramref name="height"/> image.</summary>
    public PixelBox DrawCrop(int width, int height, Random random)
    {
        double area = (double)width * height;
        double logMin = Math.Log(MinRatio), logMax = Math.Log(MaxRatio);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double targetArea = area * Uniform(random, MinScale, MaxScale);
            double aspect = Math.Exp(Uniform(random, logMin, logMax));
            int w = (int)Math.Round(Math.Sqrt(targetArea * aspect), MidpointRounding.ToEven);
            int h = (int)Math.Round(Math.Sqrt(targetArea / aspect), MidpointRounding.ToEven);
            if (w > 0 && w <= width && h > 0 && h <= height)
            {
                int top = random.Next(height - h + 1);
                int left = random.Next(width - w + 1);
                return new PixelBox(left, top, w, h);
            }
        }
        // Fallback: the whole image, cut down to the nearest allowed aspect ratio, centred.
        double ratio = (double)width / height;
        int cw = width, ch = height;
        if (ratio < MinRatio) ch = (int)Math.Round(cw / MinRatio, MidpointRounding.ToEven);
        else if (ratio > MaxRatio) cw = (int)Math.Round(ch * MaxRatio, MidpointRounding.ToEven);
        return new PixelBox((width - cw) / 2, (height - ch) / 2, cw, ch);
    }

    /// <summary>The crop needs a decode at which its box is still at least Size pixels each way.</summary>
    public double MinimumScale(int width, int height, Random random)
    {
        var box = DrawCrop(width, height, random);
        return Math.Max((double)Size / box.Width, (double)Size / box.Height);
    }

    /// <summary>The transform of an image decoded at full size (torchvision's arithmetic, byte for byte).</summary>
    public void Write(RgbImage image, Random random, ChannelNormalization normalization, Span<float> destination) =>
        Write(DecodedImage.Full(image), random, normalization, destination);

    public void Write(DecodedImage image, Random random, ChannelNormalization normalization, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        var box = DrawCrop(image.FullWidth, image.FullHeight, random);
        var whole = PixelBox.Whole(Size, Size);
        double s = image.Scale;
        var crop = s == 1
            ? BilinearResize.CropResize(image.Pixels, box, Size, Size, whole)
            : BilinearResize.RegionResize(image.Pixels, box.X * s, box.Y * s, Math.Min((box.X + box.Width) * s, image.Pixels.Width),
                Math.Min((box.Y + box.Height) * s, image.Pixels.Height), Size, Size, whole);
        if (Flip && random.NextDouble() < 0.5) MirrorInPlace(crop);
        if (Jitter == 0 && Lighting == 0 && Hue == 0)
        {
            ImageTensor.WriteHwc(crop, normalization, destination);
            return;
        }

        // Colour work in [0, 1] floats (torchvision's tensor arithmetic), then normalisation.
        int plane = Size * Size;
        if (destination.Length != plane * 3) throw new ArgumentException($"train transform: needs {plane * 3} floats, got {destination.Length}");
        for (int i = 0; i < plane * 3; i++) destination[i] = crop.Pixels[i] / 255f;
        if (Jitter > 0 || Hue > 0) ColourJitter(destination, random);
        if (Lighting > 0) AddLighting(destination, random);
        for (int p = 0; p < plane; p++)
            for (int c = 0; c < 3; c++)
                destination[p * 3 + c] = (destination[p * 3 + c] - normalization.Mean[c]) / normalization.Std[c];
    }

    private static double Uniform(Random random, double low, double high) => low + (high - low) * random.NextDouble();

    private static void MirrorInPlace(RgbImage image)
    {
        var pixels = image.Pixels;
        int w = image.Width;
        for (int y = 0; y < image.Height; y++)
            for (int x = 0; x < w / 2; x++)
                for (int c = 0; c < 3; c++)
                {
                    int a = (y * w + x) * 3 + c, b = (y * w + w - 1 - x) * 3 + c;
                    (pixels[a], pixels[b]) = (pixels[b], pixels[a]);
                }
    }

    /// <summary>
    /// ColorJitter(b, c, s, h) on [0, 1] pixels: brightness, contrast and saturation each a blend
    /// with black, the mean grey, or the pixel's grey, clamped; hue a rotation in HSV. Draws: the
    /// three factors (1 -/+ Jitter, or 1 when it is 0), the hue shift when Hue is on, then the
    /// order of the adjustments (a Fisher-Yates shuffle of three, or of four with hue), so that a
    /// run without hue draws as before hue existed.
    /// </summary>
    private void ColourJitter(Span<float> rgb, Random random)
    {
        int count = Hue > 0 ? 4 : 3;
        Span<double> factors = stackalloc double[4];
        for (int i = 0; i < 3; i++) factors[i] = Uniform(random, 1 - Jitter, 1 + Jitter);
        if (Hue > 0) factors[3] = Uniform(random, -Hue, Hue);
        Span<int> order = stackalloc int[] { 0, 1, 2, 3 };
        for (int i = count - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        int plane = rgb.Length / 3;
        foreach (int which in order[..count])
        {
            float f = (float)factors[which];
            if (which == 0)
            {
                for (int i = 0; i < rgb.Length; i++) rgb[i] = Math.Clamp(rgb[i] * f, 0f, 1f);
            }
            else if (which == 1)
            {
                double mean = 0;
                for (int p = 0; p < plane; p++) mean += Grey(rgb, p);
                float m = (float)(mean / plane);
                for (int i = 0; i < rgb.Length; i++) rgb[i] = Math.Clamp(f * rgb[i] + (1 - f) * m, 0f, 1f);
            }
            else if (which == 2)
            {
                for (int p = 0; p < plane; p++)
                {
                    float g = Grey(rgb, p);
                    for (int c = 0; c < 3; c++) rgb[p * 3 + c] = Math.Clamp(f * rgb[p * 3 + c] + (1 - f) * g, 0f, 1f);
                }
            }
            else
            {
                AdjustHue(rgb, f);
            }
        }
    }

    /// <summary>
    /// torchvision's adjust_hue on [0, 1] floats (its tensor path): each pixel to HSV, the hue
    /// shifted by <paramref name="shift"/> turns modulo 1, back to RGB; the same float32 steps, so
    /// that the result matches torchvision's to rounding (TorchvisionHueTests). Pixels [H * W, 3].
    /// </summary>
    internal static void AdjustHue(Span<float> rgb, float shift)
    {
        for (int p = 0; p < rgb.Length / 3; p++)
        {
            float r = rgb[p * 3], g = rgb[p * 3 + 1], b = rgb[p * 3 + 2];
            float max = MathF.Max(r, MathF.Max(g, b)), min = MathF.Min(r, MathF.Min(g, b));
            bool grey = max == min;
            float chroma = max - min;
            float s = chroma / (grey ? 1f : max);
            float divisor = grey ? 1f : chroma;
            float rc = (max - r) / divisor, gc = (max - g) / divisor, bc = (max - b) / divisor;
            // Which channel is the maximum picks the sextant formula (red first, then green).
            float h = max == r ? bc - gc : max == g ? 2f + rc - bc : 4f + gc - rc;
            h = Fmod(h / 6f + 1f, 1f);
            h = Fmod(Fmod(h + shift, 1f) + 1f, 1f); // Python's % (non-negative) in float32

            float h6 = h * 6f;
            float i = MathF.Floor(h6);
            float f = h6 - i;
            float v = max;
            float pp = Math.Clamp(v * (1f - s), 0f, 1f);
            float q = Math.Clamp(v * (1f - s * f), 0f, 1f);
            float t = Math.Clamp(v * (1f - s * (1f - f)), 0f, 1f);
            (rgb[p * 3], rgb[p * 3 + 1], rgb[p * 3 + 2]) = ((int)i % 6) switch
            {
                0 => (v, t, pp),
                1 => (q, v, pp),
                2 => (pp, v, t),
                3 => (pp, q, v),
                4 => (t, pp, v),
                _ => (v, pp, q),
            };
        }
    }

    /// <summary>C's fmod in float32 (torch.fmod): the remainder with the dividend's sign.</summary>
    private static float Fmod(float x, float y) => x % y;

    /// <summary>ITU-R 601 luma, as torchvision's rgb_to_grayscale.</summary>
    private static float Grey(ReadOnlySpan<float> rgb, int p) => 0.2989f * rgb[p * 3] + 0.587f * rgb[p * 3 + 1] + 0.114f * rgb[p * 3 + 2];

    /// <summary>AlexNet's lighting noise: every pixel shifted by V (alpha * lambda), alpha ~ N(0, Lighting) per component.</summary>
    private void AddLighting(Span<float> rgb, Random random)
    {
        Span<double> alpha = stackalloc double[3];
        for (int i = 0; i < 3; i++) alpha[i] = Lighting * StandardNormal(random) * EigenValues[i];
        Span<float> shift = stackalloc float[3];
        for (int c = 0; c < 3; c++) shift[c] = (float)(EigenVectors[c, 0] * alpha[0] + EigenVectors[c, 1] * alpha[1] + EigenVectors[c, 2] * alpha[2]);
        for (int p = 0; p < rgb.Length / 3; p++)
            for (int c = 0; c < 3; c++) rgb[p * 3 + c] += shift[c];
    }

    /// <summary>Box-Muller, so that the draw is fixed by this code and the seed.</summary>
    private static double StandardNormal(Random random)
    {
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
