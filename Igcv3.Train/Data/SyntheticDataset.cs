namespace Igcv3.Train.Data;

/// <summary>
/// A seeded stand-in for CIFAR that a small network learns within a few epochs: for tests and for
/// <c>--dataset synthetic</c> on hosts without the real data. Class k is a tinted sinusoidal
/// grating at angle pi*k/K with its own spatial frequency and colour; each image gets a random
/// phase, a random contrast and uniform pixel noise, so no two images are alike and the class must
/// be read from colour, orientation and frequency.
/// </summary>
public static class SyntheticDataset
{
    /// <summary>
    /// pixel[c, y, x] = clamp(128 + Offset[k, c] + A * Tint[k, c] * sin(2 pi f_k (x cos t_k + y sin t_k) / S + phase) + noise, 0, 255),
    /// with Offset[k, c] = 40 cos(2 pi k / K + 2 pi c / C), t_k = pi k / K, f_k in {2, 3, 4}, Tint in [0.3, 1],
    /// A in [40, 70], noise uniform in [-Noise, Noise].
    /// Labels cycle 0, 1, ..., K-1, so every class has the same share.
    /// </summary>
    public static ImageDataset Create(int count, int classCount = 10, int seed = 0, int size = 32, int channels = 3, int noise = 24)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), $"synthetic: count must be >= 0, got {count}");
        if (classCount < 2) throw new ArgumentOutOfRangeException(nameof(classCount), $"synthetic: needs at least 2 classes, got {classCount}");
        if (size < 1 || channels < 1) throw new ArgumentException($"synthetic: image shape must be positive, got size {size}, channels {channels}");

        // The class look-up is fixed per class count, not per seed: a training set and a test set made
        // with different seeds must describe the same classes.
        var classes = new Random(classCount * 7919);
        var offset = new double[classCount, channels];
        var tint = new double[classCount, channels];
        var frequency = new double[classCount];
        for (int k = 0; k < classCount; k++)
        {
            frequency[k] = 2 + k % 3;
            for (int c = 0; c < channels; c++)
            {
                // Class colours spaced evenly around a circle in colour space: no two classes share a tint.
                offset[k, c] = 40 * Math.Cos(2 * Math.PI * k / classCount + 2 * Math.PI * c / channels);
                tint[k, c] = 0.3 + 0.7 * classes.NextDouble();
            }
        }

        var random = new Random(seed);
        int plane = size * size;
        var pixels = new byte[(long)count * channels * plane]; // [N, C, S, S]
        var labels = new int[count];                            // [N]
        for (int i = 0; i < count; i++)
        {
            int k = i % classCount;
            labels[i] = k;
            double angle = Math.PI * k / classCount;
            double phase = 2 * Math.PI * random.NextDouble();
            double amplitude = 40 + 30 * random.NextDouble();
            var image = pixels.AsSpan(i * channels * plane, channels * plane);
            for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
            {
                double wave = Math.Sin(2 * Math.PI * frequency[k] * (x * Math.Cos(angle) + y * Math.Sin(angle)) / size + phase);
                for (int c = 0; c < channels; c++)
                {
                    double value = 128 + offset[k, c] + amplitude * tint[k, c] * wave + random.Next(-noise, noise + 1);
                    image[c * plane + y * size + x] = (byte)Math.Clamp(Math.Round(value), 0, 255);
                }
            }
        }
        var names = Enumerable.Range(0, classCount).Select(k => $"pattern_{k}").ToArray();
        return new ImageDataset($"synthetic (seed {seed})", pixels, labels, channels, size, size, names);
    }
}
