namespace Igcv3.Train.Data;

/// <summary>
/// Builds a float batch from byte images in one pass: crop/mirror, CHW -> HWC transpose and
/// normalisation together, so each output element is written once.
/// </summary>
public static class BatchAssembler
{
    /// <summary>
    /// images[b, y, x, c] = norm_c(src_b[c, y + sy, (flip ? W-1-x : x) + sx]), with src = dataset[indices[b]]
    /// and a zero pixel (normalised) outside the image; labels[b] = label of indices[b].
    /// </summary>
    public static void Fill(ImageDataset dataset, ReadOnlySpan<int> indices, ReadOnlySpan<SampleTransform> transforms,
        ChannelNormalization normalization, Span<float> images, Span<int> labels)
    {
        int count = indices.Length, channels = dataset.Channels, height = dataset.Height, width = dataset.Width;
        if (transforms.Length != count || labels.Length != count || images.Length != count * height * width * channels)
            throw new ArgumentException(
                $"batch: {count} indices need {count} transforms, {count} labels and {count * height * width * channels} floats ([{count}, {height}, {width}, {channels}]); got {transforms.Length}, {labels.Length}, {images.Length}");
        if (normalization.Channels != channels)
            throw new ArgumentException($"batch: normalisation has {normalization.Channels} channels, dataset {dataset.Name} has {channels}");

        var scale = normalization.Scale;
        var bias = normalization.Bias; // the value of a zero (padding) pixel
        int plane = height * width;
        for (int b = 0; b < count; b++)
        {
            ReadOnlySpan<byte> source = dataset.Image(indices[b]); // [C, H, W]
            var t = transforms[b];
            labels[b] = dataset.Label(indices[b]);
            Span<float> image = images.Slice(b * plane * channels, plane * channels); // [H, W, C]
            for (int y = 0; y < height; y++)
            {
                int sy = y + t.ShiftY;
                for (int x = 0; x < width; x++)
                {
                    int sx = (t.Flip ? width - 1 - x : x) + t.ShiftX;
                    Span<float> pixel = image.Slice((y * width + x) * channels, channels);
                    if ((uint)sy >= (uint)height || (uint)sx >= (uint)width)
                    {
                        for (int c = 0; c < channels; c++) pixel[c] = bias[c];
                        continue;
                    }
                    int offset = sy * width + sx;
                    for (int c = 0; c < channels; c++) pixel[c] = source[c * plane + offset] * scale[c] + bias[c];
                }
            }
        }
    }
}
