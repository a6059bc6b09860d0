using Igcv3.Train.Commands;
using Igcv3.Train.Data;
using Igcv3.Train.Data.Images;
using Igcv3.Train.Settings;

namespace Igcv3.Train.Training;

/// <summary>
/// The loaders of a run: training (shuffled, augmented, drop-last) and test (in order, the
/// evaluation transform, every image). CIFAR and the synthetic set are loaded into memory
/// (<see cref="BatchLoader"/>); ImageNet is read from its files by worker threads (<see cref="ImageBatchLoader"/>).
/// A data-parallel run of <c>world</c> workers gets each rank's training loader, over its share of
/// every epoch, from <see cref="TrainFor"/>; <see cref="Train"/> is rank 0's.
/// </summary>
public sealed record RunLoaders(IBatchLoader Train, IBatchLoader Test, string Name, int ClassCount, Func<int, IBatchLoader> TrainFor)
{
    public static RunLoaders Create(RunSettings s, TextWriter log, Func<CifarKind, CifarLayout> layouts, bool testOnly = false,
        CancellationToken cancellation = default, int world = 1)
    {
        if (s.Dataset == "imagenet") return ImageNet(s, log, testOnly, world);

        var data = DatasetLoader.Load(s, log, layouts, testOnly, cancellation);
        if (!testOnly) CheckBatchFits(s.BatchSize, data.Train.Count, world);
        var augmentation = s.Augment == "none" ? Augmentation.None : Augmentation.PadCropFlip(s.Pad);
        IBatchLoader TrainFor(int rank) =>
            new BatchLoader(data.Train, testOnly ? 1 : s.BatchSize, data.Normalization, augmentation, shuffle: true, dropLast: true, s.Seed, (rank, world));
        var test = new BatchLoader(data.Test, s.EvalBatchSize, data.Normalization, Augmentation.None, shuffle: false, dropLast: false, s.Seed);
        return new RunLoaders(TrainFor(0), test, data.Train.Name, data.ClassCount, TrainFor);
    }

    private static void CheckBatchFits(int batchSize, int images, int world)
    {
        if (images / world >= batchSize) return;
        throw new UsageException(world == 1
            ? $"--batch-size {batchSize} is larger than the training set ({images} images); lower it or use more images"
            : $"--batch-size {batchSize} (per worker) is larger than each of the {world} workers' share of the training set ({images / world} images); lower it or use more images");
    }

    private static RunLoaders ImageNet(RunSettings s, TextWriter log, bool testOnly, int world)
    {
        var (trainSource, valSource) = ImageNetLayout.Open(s.DataDir, testOnly);
        var normalization = ChannelNormalization.ImageNet;
        int workers = s.Workers ?? 0;
        var eval = new EvalTransform(224, s.CropFraction);
        var test = new ImageBatchLoader(valSource, s.EvalBatchSize, eval, normalization, shuffle: false, dropLast: false, s.Seed, workers, log: log, limit: s.LimitTest,
            jpegDraft: s.JpegDraft == "on");
        if (trainSource is null) return new RunLoaders(test, test, "ImageNet", valSource.ClassNames.Count, _ => test);

        CheckBatchFits(s.BatchSize, Math.Min(trainSource.Count, s.LimitTrain ?? int.MaxValue), world);
        IImageTransform transform = s.Augment == "none" ? eval : new TrainTransform(224, s.MinScale, jitter: s.ColorJitter, lighting: s.Lighting, hue: s.Hue);
        IBatchLoader TrainFor(int rank) => new ImageBatchLoader(trainSource, s.BatchSize, transform, normalization, shuffle: true, dropLast: true, s.Seed,
            workers, log: log, limit: s.LimitTrain, shard: (rank, world), jpegDraft: s.JpegDraft == "on");
        return new RunLoaders(TrainFor(0), test, "ImageNet", trainSource.ClassNames.Count, TrainFor);
    }
}
