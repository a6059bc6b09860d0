using System.Diagnostics;
using System.Globalization;
using Igcv3.Train.Data;

namespace Igcv3.Bench.Modes;

/// <summary>
/// The trainer's input pipeline alone: images/s that <see cref="BatchLoader"/> delivers (pad-4
/// crop, flip, per-channel normalisation into float NHWC batches, on its one background worker)
/// for a CIFAR-sized synthetic set. It must stay well above a GPU's training-step rate, or the GPU
/// waits for data; the per-epoch figure is the pipeline with no training to overlap.
/// </summary>
public static class LoaderThroughput
{
    public static int Run(int batch, int epochs, TextWriter log)
    {
        var data = SyntheticDataset.Create(50_000);
        var loader = new BatchLoader(data, batch, ChannelNormalization.Cifar10, Augmentation.PadCropFlip(), shuffle: true, dropLast: true, seed: 1);
        var rates = new List<double>();
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            int batches = loader.Epoch(epoch).Count();
            double rate = batches * batch / clock.Elapsed.TotalSeconds;
            rates.Add(rate);
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"epoch {epoch}: {batches} batches of {batch} in {clock.Elapsed.TotalSeconds:F2} s, {rate:F0} images/s"));
        }
        rates.Sort();
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"loader: median {rates[rates.Count / 2]:F0} images/s over {epochs} epochs of 50,000 CIFAR-sized images, batch {batch}, {Environment.ProcessorCount} cores"));
        return 0;
    }
}
