namespace Igcv3.Train.Data.Images;

/// <summary>
/// The ImageNet training transform, in torchvision's order: RandomResizedCrop(Size, scale,
/// ratio) with its algorithm (ten tries at a box of random area and log-uniform aspect ratio that
/// fits, else the whole image clamped to the ratio range, centred), RandomHorizontalFlip(0.5),
/// then the optional colour jitter (brightness, contrast, saturation in a random order, as
/// ColorJitter; no hue) and AlexNet's PCA lighting noise (the official MXNet recipe's colour
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
        bool flip = true, double jitter = 0, double lighting = 0)
    {
        if (size <= 0) throw new ArgumentOutOfRangeException(nameof(size), $"train transform: size must be positive, got {size}");
        if (!(minScale > 0 && minScale <= maxScale && maxScale <= 1))
            throw new ArgumentException($"train transform: scale range must satisfy 0 < min <= max <= 1, got ({minScale}, {maxScale})");
        if (!(minRatio > 0 && minRatio <= maxRatio)) throw new ArgumentException($"train transform: ratio range must satisfy 0 < min <= max, got ({minRatio}, {maxRatio})");
        if (!(jitter >= 0 && jitter < 1)) throw new ArgumentOutOfRangeException(nameof(jitter), $"train transform: colour jitter must be in [0, 1), got {jitter}");
        if (!(lighting >= 0) || !double.IsFinite(lighting)) throw new ArgumentOutOfRangeException(nameof(lighting), $"train transform: lighting must be >= 0, got {lighting}");
        Size = size;
        (MinScale, MaxScale, MinRatio, MaxRatio) = (minScale, maxScale, minRatio, maxRatio);
        Flip = flip;
        Jitter = jitter;
        Lighting = lighting;
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
        if (Jitter == 0 && Lighting == 0)
        {
            ImageTensor.WriteHwc(crop, normalization, destination);
            return;
        }

        // Colour work in [0, 1] floats (torchvision's tensor arithmetic), then normalisation.
        int plane = Size * Size;
        if (destination.Length != plane * 3) throw new ArgumentException($"train transform: needs {plane * 3} floats, got {destination.Length}");
        for (int i = 0; i < plane * 3; i++) destination[i] = crop.Pixels[i] / 255f;
        if (Jitter > 0) ColourJitter(destination, random);
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

    /// <summary>ColorJitter(b, c, s) on [0, 1] pixels: each adjustment a blend with black, the mean grey, or the pixel's grey, clamped.</summary>
    private void ColourJitter(Span<float> rgb, Random random)
    {
        var factors = new double[3];
        for (int i = 0; i < 3; i++) factors[i] = Uniform(random, 1 - Jitter, 1 + Jitter);
        // A random order of the three, by a Fisher-Yates shuffle drawn after the factors.
        int[] order = [0, 1, 2];
        for (int i = 2; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        int plane = rgb.Length / 3;
        foreach (int which in order)
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
            else
            {
                for (int p = 0; p < plane; p++)
                {
                    float g = Grey(rgb, p);
                    for (int c = 0; c < 3; c++) rgb[p * 3 + c] = Math.Clamp(f * rgb[p * 3 + c] + (1 - f) * g, 0f, 1f);
                }
            }
        }
    }

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
