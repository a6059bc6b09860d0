using Igcv3.Train.Commands;
using Igcv3.Train.Data;
using Igcv3.Train.Data.Images;
using Igcv3.Train.Settings;

namespace Igcv3.Train.Training;

/// <summary>
/// The loaders of a run: training (shuffled, augmented, drop-last) and test (in order, the
/// evaluation transform, every image). CIFAR and the synthetic set are loaded into memory
/// (<see cref="BatchLoader"/>); ImageNet is read from its files by worker threads (<see cref="ImageBatchLoader"/>).
/// </summary>
public sealed record RunLoaders(IBatchLoader Train, IBatchLoader Test, string Name, int ClassCount)
{
    public static RunLoaders Create(RunSettings s, TextWriter log, Func<CifarKind, CifarLayout> layouts, bool testOnly = false, CancellationToken cancellation = default)
    {
        if (s.Dataset == "imagenet") return ImageNet(s, log, testOnly);

        var data = DatasetLoader.Load(s, log, layouts, testOnly, cancellation);
        if (!testOnly && data.Train.Count < s.BatchSize)
            throw new UsageException($"--batch-size {s.BatchSize} is larger than the training set ({data.Train.Count} images); lower it or use more images");
        var augmentation = s.Augment == "none" ? Augmentation.None : Augmentation.PadCropFlip(s.Pad);
        var train = new BatchLoader(data.Train, testOnly ? 1 : s.BatchSize, data.Normalization, augmentation, shuffle: true, dropLast: true, s.Seed);
        var test = new BatchLoader(data.Test, s.EvalBatchSize, data.Normalization, Augmentation.None, shuffle: false, dropLast: false, s.Seed);
        return new RunLoaders(train, test, data.Train.Name, data.ClassCount);
    }

    private static RunLoaders ImageNet(RunSettings s, TextWriter log, bool testOnly)
    {
        var (trainSource, valSource) = ImageNetLayout.Open(s.DataDir, testOnly);
        var normalization = ChannelNormalization.ImageNet;
        int workers = s.Workers ?? 0;
        var eval = new EvalTransform(224, s.CropFraction);
        var test = new ImageBatchLoader(valSource, s.EvalBatchSize, eval, normalization, shuffle: false, dropLast: false, s.Seed, workers, log: log, limit: s.LimitTest);
        if (trainSource is null) return new RunLoaders(test, test, "ImageNet", valSource.ClassNames.Count);

        int trainCount = Math.Min(trainSource.Count, s.LimitTrain ?? int.MaxValue);
        if (trainCount < s.BatchSize)
            throw new UsageException($"--batch-size {s.BatchSize} is larger than the training set ({trainCount} images); lower it or use more images");
        IImageTransform transform = s.Augment == "none" ? eval : new TrainTransform(224, s.MinScale, jitter: s.ColorJitter, lighting: s.Lighting);
        var train = new ImageBatchLoader(trainSource, s.BatchSize, transform, normalization, shuffle: true, dropLast: true, s.Seed, workers, log: log, limit: s.LimitTrain);
        return new RunLoaders(train, test, "ImageNet", trainSource.ClassNames.Count);
    }
}
