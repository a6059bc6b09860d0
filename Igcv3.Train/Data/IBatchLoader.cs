namespace Igcv3.Train.Data;

/// <summary>
/// What the trainer and the evaluator need of a loader: the epoch's batches, in order, from a
/// given batch on (a resumed run starts mid-epoch). <see cref="BatchLoader"/> serves an in-memory
/// set (CIFAR), <see cref="Images.ImageBatchLoader"/> decodes image files on worker threads (ImageNet).
/// </summary>
public interface IBatchLoader
{
    int BatchSize { get; }

    /// <summary>Images per epoch (before drop-last).</summary>
    int Count { get; }

    /// <summary>The loader's own throughput and the caller's waits, where the loader does enough work to matter (image files); null otherwise.</summary>
    Images.LoaderStatistics? Statistics { get; }

    /// <summary>Batches per epoch: floor(N / B) with drop-last (training), ceil(N / B) without (evaluation).</summary>
    int BatchesPerEpoch { get; }

    /// <summary>
    /// The batches of <paramref name="epoch"/> from <paramref name="firstBatch"/> on. A yielded
    /// batch's arrays are reused once the next batch is requested: copy them to keep them.
    /// Leaving the loop early stops the workers.
    /// </summary>
    IEnumerable<Batch> Epoch(int epoch, int firstBatch = 0);
}
