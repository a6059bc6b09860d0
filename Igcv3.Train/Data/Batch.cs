namespace Igcv3.Train.Data;

/// <summary>
/// One batch ready for the network: Images [Count, H, W, C] normalised floats (NHWC, the engine's
/// activation layout), Labels [Count]. The arrays are exactly Count images long.
/// </summary>
public sealed class Batch
{
    public Batch(int capacity, int height, int width, int channels)
    {
        Images = new float[capacity * height * width * channels];
        Labels = new int[capacity];
        Height = height;
        Width = width;
        Channels = channels;
    }

    public float[] Images { get; } // [Count, H, W, C]
    public int[] Labels { get; }   // [Count]
    public int Count => Labels.Length;
    public int Height { get; }
    public int Width { get; }
    public int Channels { get; }

    /// <summary>Position of this batch within its epoch (0-based).</summary>
    public int Index { get; internal set; }

    public void Deconstruct(out float[] images, out int[] labels)
    {
        images = Images;
        labels = Labels;
    }
}
