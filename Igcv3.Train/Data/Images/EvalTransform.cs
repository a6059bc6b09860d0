namespace Igcv3.Train.Data.Images;

/// <summary>
/// The ImageNet evaluation transform: resize the shorter side to CropSize / CropFraction
/// (224 / 0.875 = 256), keeping the aspect ratio, then take the centre CropSize x CropSize
/// (torchvision's Resize(256) + CenterCrop(224), with its rounding: the longer side becomes
/// int(256 * long / short), the crop's offset round((size - 224) / 2) to even); then normalise.
/// Deterministic and thread-safe.
/// </summary>
public sealed class EvalTransform : IImageTransform
{
    public EvalTransform(int cropSize = 224, double cropFraction = 0.875)
    {
        if (cropSize <= 0) throw new ArgumentOutOfRangeException(nameof(cropSize), $"eval transform: crop size must be positive, got {cropSize}");
        if (!(cropFraction > 0 && cropFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(cropFraction), $"eval transform: crop fraction must be in (0, 1], got {cropFraction}");
        CropSize = cropSize;
        CropFraction = cropFraction;
        // timm's convention, floor(size / fraction): 224 / 0.875 = 256 exactly.
        ResizeSize = (int)Math.Floor(cropSize / cropFraction + 1e-9);
    }

    public int CropSize { get; }

    int IImageTransform.Size => CropSize;
    public double CropFraction { get; }

    /// <summary>The shorter side after the resize (256 for the defaults).</summary>
    public int ResizeSize { get; }

    /// <summary>The size <paramref name="width"/> x <paramref name="height"/> is resized to before the crop.</summary>
    public (int Width, int Height) ResizedSize(int width, int height)
    {
        if (width <= height) return (ResizeSize, (int)((double)ResizeSize * height / width));
        return ((int)((double)ResizeSize * width / height), ResizeSize);
    }

    /// <summary>The centre CropSize x CropSize window of the resized image.</summary>
    public PixelBox CenterWindow(int resizedWidth, int resizedHeight) =>
        new((int)Math.Round((resizedWidth - CropSize) / 2.0), (int)Math.Round((resizedHeight - CropSize) / 2.0), CropSize, CropSize);

    /// <summary>The CropSize x CropSize RGB crop of <paramref name="image"/>.</summary>
    public RgbImage Apply(RgbImage image) => Apply(DecodedImage.Full(image));

    /// <summary>The crop of an image decoded at full size (torchvision's bytes) or reduced: the same resize of the full image's extent.</summary>
    public RgbImage Apply(DecodedImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var (width, height) = ResizedSize(image.FullWidth, image.FullHeight);
        var pixels = image.Pixels;
        if (image.Scale == 1)
            return BilinearResize.CropResize(pixels, PixelBox.Whole(pixels.Width, pixels.Height), width, height, CenterWindow(width, height));
        return BilinearResize.RegionResize(pixels, 0, 0, Math.Min(image.FullWidth * image.Scale, pixels.Width), Math.Min(image.FullHeight * image.Scale, pixels.Height),
            width, height, CenterWindow(width, height));
    }

    /// <summary>The resize must only shrink: the decode keeps at least the resized size each way.</summary>
    public double MinimumScale(int width, int height)
    {
        var (w, h) = ResizedSize(width, height);
        return Math.Max((double)w / width, (double)h / height);
    }

    double IImageTransform.MinimumScale(int width, int height, Random random) => MinimumScale(width, height);

    /// <summary>The crop as a normalised [3, CropSize, CropSize] tensor (CHW).</summary>
    public float[] ToChw(RgbImage image, ChannelNormalization normalization) => ImageTensor.ToChw(Apply(image), normalization);

    /// <summary>Writes the crop as normalised [CropSize, CropSize, 3] floats (HWC, one image of an NHWC batch).</summary>
    public void WriteHwc(RgbImage image, ChannelNormalization normalization, Span<float> destination) =>
        ImageTensor.WriteHwc(Apply(image), normalization, destination);

    /// <summary>The same as <see cref="WriteHwc"/>: nothing is random.</summary>
    void IImageTransform.Write(DecodedImage image, Random random, ChannelNormalization normalization, Span<float> destination) =>
        ImageTensor.WriteHwc(Apply(image), normalization, destination);
}
