namespace Igcv3.Train.Data;

/// <summary>
/// Per-channel normalisation of byte pixels: out[c] = (pixel / 255 - Mean[c]) / Std[c], as
/// torchvision's ToTensor + Normalize.
/// </summary>
public sealed class ChannelNormalization
{
    private readonly float[] _mean;
    private readonly float[] _std;

    public ChannelNormalization(IReadOnlyList<float> mean, IReadOnlyList<float> std)
    {
        if (mean.Count == 0 || mean.Count != std.Count)
            throw new ArgumentException($"normalisation: mean and std need one value per channel, got {mean.Count} and {std.Count}");
        for (int c = 0; c < std.Count; c++)
            if (!(std[c] > 0) || !float.IsFinite(mean[c]))
                throw new ArgumentException($"normalisation: channel {c} has mean {mean[c]} and std {std[c]}; std must be positive");
        _mean = mean.ToArray();
        _std = std.ToArray();
        Scale = _std.Select(s => 1f / (255f * s)).ToArray();
        Bias = _mean.Zip(_std, (m, s) => -m / s).ToArray();
    }

    public IReadOnlyList<float> Mean => _mean;
    public IReadOnlyList<float> Std => _std;
    public int Channels => _mean.Length;

    /// <summary>out = pixel * Scale[c] + Bias[c], the same map folded into one multiply-add per pixel.</summary>
    internal float[] Scale { get; }
    internal float[] Bias { get; }

    /// <summary>
    /// CIFAR-10 training-set statistics (pixels scaled to [0, 1]; population std over all 50,000 x
    /// 32 x 32 pixels of each channel): mean (0.4914, 0.4822, 0.4465), std (0.2470, 0.2435, 0.2616).
    /// The often-copied std (0.2023, 0.1994, 0.2010) does not match the pixel std of the training
    /// set. The IGCV3 PyTorch port computes the statistics from the training set, as
    /// <see cref="FromDataset"/> does, which gives these values on the official files.
    /// </summary>
    public static readonly ChannelNormalization Cifar10 = new([0.4914f, 0.4822f, 0.4465f], [0.2470f, 0.2435f, 0.2616f]);

    /// <summary>CIFAR-100 training-set statistics, same definition: mean (0.5071, 0.4865, 0.4409), std (0.2673, 0.2564, 0.2762).</summary>
    public static readonly ChannelNormalization Cifar100 = new([0.5071f, 0.4865f, 0.4409f], [0.2673f, 0.2564f, 0.2762f]);

    /// <summary>The ImageNet statistics every torchvision and timm model uses: mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225).</summary>
    public static readonly ChannelNormalization ImageNet = new([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    /// <summary>Mean and population std of each channel over every pixel of <paramref name="dataset"/>, pixels scaled to [0, 1].</summary>
    public static ChannelNormalization FromDataset(ImageDataset dataset)
    {
        if (dataset.Count == 0) throw new ArgumentException($"normalisation: dataset {dataset.Name} is empty");
        int channels = dataset.Channels, plane = dataset.Height * dataset.Width;
        var sum = new long[channels];
        var sumSquares = new long[channels];
        // Exact integer sums per channel (255^2 * 50,000 * 1,024 fits a long many times over).
        Parallel.For(0, channels, c =>
        {
            long s = 0, s2 = 0;
            for (int i = 0; i < dataset.Count; i++)
                foreach (byte p in dataset.Image(i).Slice(c * plane, plane)) { s += p; s2 += p * p; }
            sum[c] = s;
            sumSquares[c] = s2;
        });
        double n = (double)dataset.Count * plane;
        var mean = new float[channels];
        var std = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            double m = sum[c] / n;
            double variance = sumSquares[c] / n - m * m;
            mean[c] = (float)(m / 255);
            std[c] = (float)(Math.Sqrt(Math.Max(variance, 0)) / 255);
            if (std[c] == 0) std[c] = 1; // a constant channel: leave it centred, unscaled
        }
        return new ChannelNormalization(mean, std);
    }
}
