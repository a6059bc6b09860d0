using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace Igcv3.Train.Data;

/// <summary>
/// Serves an epoch as float batches, preparing the next batch on a background worker while the
/// caller trains on the current one. Two full-size buffers circulate (double buffering), so memory
/// stays bounded. All randomness comes from the epoch's <see cref="EpochPlan"/>, fixed before the
/// worker starts, so the batches are the same whatever the thread timing.
/// </summary>
public sealed class BatchLoader : IBatchLoader
{
    /// <param name="shard">This data-parallel rank and the world size: the loader serves the rank's
    /// <see cref="EpochPlan.Shard"/> of every epoch, so its epoch has Count / world images.</param>
    public BatchLoader(ImageDataset dataset, int batchSize, ChannelNormalization normalization, Augmentation augmentation,
        bool shuffle, bool dropLast, int seed, (int Rank, int World)? shard = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(normalization);
        ArgumentNullException.ThrowIfNull(augmentation);
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), $"batch loader: batch size must be positive, got {batchSize}");
        if (normalization.Channels != dataset.Channels)
            throw new ArgumentException($"batch loader: normalisation has {normalization.Channels} channels, dataset {dataset.Name} has {dataset.Channels}");
        Shard = EpochPlan.CheckShard(shard, "batch loader");
        Count = dataset.Count / Shard.World;
        if (dropLast && Count < batchSize)
            throw new ArgumentException(
                $"batch loader: batch size {batchSize} is larger than {(Shard.World > 1 ? $"a 1/{Shard.World} share of " : "")}dataset {dataset.Name} ({Count} images), so dropping the last partial batch leaves nothing");
        Dataset = dataset;
        BatchSize = batchSize;
        Normalization = normalization;
        Augmentation = augmentation;
        Shuffle = shuffle;
        DropLast = dropLast;
        Seed = seed;
    }

    public ImageDataset Dataset { get; }
    public int BatchSize { get; }
    public ChannelNormalization Normalization { get; }
    public Augmentation Augmentation { get; }
    public bool Shuffle { get; }
    public bool DropLast { get; }
    public int Seed { get; }

    public (int Rank, int World) Shard { get; }

    /// <summary>Images per epoch, N: the dataset's, or the rank's share of it.</summary>
    public int Count { get; }

    /// <summary>None: assembling a batch from memory costs little next to a training step.</summary>
    public Images.LoaderStatistics? Statistics => null;

    /// <summary>Batches per epoch: floor(N / B) with drop-last (training), ceil(N / B) without (evaluation).</summary>
    public int BatchesPerEpoch => DropLast ? Count / BatchSize : (Count + BatchSize - 1) / BatchSize;

    /// <summary>Called on the worker before each batch is filled, with the batch index: lets tests perturb timing or inject a failure.</summary>
    internal Action<int>? BeforeFill { get; set; }

    public EpochPlan Plan(int epoch) => EpochPlan.Create(Dataset.Count, Seed, epoch, Shuffle, Augmentation).Shard(Shard.Rank, Shard.World);

    /// <summary>Builds batch <paramref name="batchIndex"/> of <paramref name="epoch"/> on the calling thread (no worker).</summary>
    public Batch ReadBatch(int epoch, int batchIndex)
    {
        CheckBatchIndex(batchIndex, BatchesPerEpoch - 1);
        var batch = NewBatch(SizeOf(batchIndex));
        Fill(Plan(epoch), batchIndex, batch);
        return batch;
    }

    /// <summary>
    /// The batches of <paramref name="epoch"/> from <paramref name="firstBatch"/> on (a resumed run
    /// starts mid-epoch). A yielded batch's arrays are reused once the next batch is requested:
    /// copy them to keep them. Leaving the loop early stops the worker.
    /// </summary>
    public IEnumerable<Batch> Epoch(int epoch, int firstBatch = 0)
    {
        CheckBatchIndex(firstBatch, BatchesPerEpoch);
        return Iterate(epoch, firstBatch);
    }

    private IEnumerable<Batch> Iterate(int epoch, int firstBatch)
    {
        var plan = Plan(epoch);
        int batches = BatchesPerEpoch;
        using var free = new BlockingCollection<Batch>();  // buffers the worker may fill
        using var ready = new BlockingCollection<Batch>(); // filled buffers, in batch order
        using var stop = new CancellationTokenSource();
        free.Add(NewBatch(BatchSize));
        free.Add(NewBatch(BatchSize));
        Exception? failure = null;

        var worker = Task.Run(() =>
        {
            try
            {
                for (int i = firstBatch; i < batches; i++)
                {
                    int size = SizeOf(i);
                    // Only the last batch without drop-last is short; it gets its own exact-size arrays.
                    var batch = size == BatchSize ? free.Take(stop.Token) : NewBatch(size);
                    BeforeFill?.Invoke(i);
                    Fill(plan, i, batch);
                    ready.Add(batch, stop.Token);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
            catch (Exception e) { failure = e; }
            finally { ready.CompleteAdding(); }
        });

        Batch? previous = null;
        try
        {
            for (int i = firstBatch; i < batches; i++)
            {
                // The caller has finished with the previous batch: its buffer can be refilled.
                if (previous is not null && previous.Count == BatchSize) free.Add(previous);
                previous = null;
                if (!ready.TryTake(out var batch, Timeout.Infinite))
                {
                    worker.Wait();
                    ExceptionDispatchInfo.Capture(failure ?? new InvalidOperationException("batch loader: the worker stopped early")).Throw();
                }
                previous = batch;
                yield return batch!;
            }
        }
        finally
        {
            stop.Cancel();
            worker.Wait(); // the worker catches everything, so this only waits
        }
    }

    private int SizeOf(int batchIndex) => Math.Min(BatchSize, Count - batchIndex * BatchSize);

    private Batch NewBatch(int size) => new(size, Dataset.Height, Dataset.Width, Dataset.Channels);

    private void Fill(EpochPlan plan, int batchIndex, Batch batch)
    {
        int start = batchIndex * BatchSize;
        BatchAssembler.Fill(Dataset, plan.Order.AsSpan(start, batch.Count), plan.Transforms.AsSpan(start, batch.Count),
            Normalization, batch.Images, batch.Labels);
        batch.Index = batchIndex;
    }

    private static void CheckBatchIndex(int index, int max)
    {
        if (index < 0 || index > max)
            throw new ArgumentOutOfRangeException(nameof(index), $"batch loader: batch index {index} is outside [0, {max}]");
    }
}
