namespace Igcv3.Train.Data.Images;

/// <summary>A rectangle of pixels: columns [X, X + Width), rows [Y, Y + Height).</summary>
public readonly record struct PixelBox(int X, int Y, int Width, int Height)
{
    public static PixelBox Whole(int width, int height) => new(0, 0, width, height);

    public bool IsInside(int width, int height) =>
        X >= 0 && Y >= 0 && Width > 0 && Height > 0 && X + Width <= width && Y + Height <= height;
}
