namespace Igcv3.Train.Data;

/// <summary>
/// One sample's augmentation: a shift of the crop window and an optional mirror, applied as
/// out[y, x] = in[y + ShiftY, (Flip ? W - 1 - x : x) + ShiftX], zero outside the image. This is
/// torchvision's RandomCrop(32, padding=p) (window offset ShiftY + p, ShiftX + p in the zero-padded
/// image) followed by RandomHorizontalFlip.
/// </summary>
public readonly record struct SampleTransform(int ShiftY, int ShiftX, bool Flip)
{
    public static readonly SampleTransform Identity = default;
}
