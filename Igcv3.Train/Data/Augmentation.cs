namespace Igcv3.Train.Data;

/// <summary>
/// Training augmentation: a random crop from the image zero-padded by <see cref="Pad"/> pixels on
/// each side (shifts uniform in [-Pad, Pad]), then a horizontal mirror with probability 1/2 when
/// <see cref="Mirror"/> is on. <see cref="None"/> is the identity (evaluation).
/// </summary>
public sealed class Augmentation
{
    private Augmentation(int pad, bool mirror)
    {
        if (pad < 0) throw new ArgumentOutOfRangeException(nameof(pad), $"augmentation: pad must be >= 0, got {pad}");
        Pad = pad;
        Mirror = mirror;
    }

    public int Pad { get; }
    public bool Mirror { get; }

    public static Augmentation None { get; } = new(0, false);

    /// <summary>The CIFAR recipe of every IGC paper: pad 4, random 32x32 crop, random mirror.</summary>
    public static Augmentation PadCropFlip(int pad = 4) => new(pad, true);

    public bool IsIdentity => Pad == 0 && !Mirror;

    /// <summary>Draws one sample's transform.</summary>
    public SampleTransform Draw(Random random)
    {
        if (IsIdentity) return SampleTransform.Identity;
        int shiftY = random.Next(-Pad, Pad + 1);
        int shiftX = random.Next(-Pad, Pad + 1);
        bool flip = Mirror && random.Next(2) == 1;
        return new SampleTransform(shiftY, shiftX, flip);
    }

    public override string ToString() => IsIdentity ? "none" : $"pad-{Pad} crop{(Mirror ? " + flip" : "")}";
}
