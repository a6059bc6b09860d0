using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Igcv3.Train.Data.Images;

/// <summary>
/// Serves an epoch of an <see cref="IImageSource"/> as float batches [B, Size, Size, 3], reading,
/// decoding and transforming images on <see cref="Workers"/> threads while the caller trains. The
/// workers take the epoch's images in order, one at a time, into a ring of
/// <see cref="PrefetchBatches"/> batch buffers, so memory stays bounded and batches complete in
/// order. The order is the <see cref="EpochPlan"/>'s; each image's random transform is seeded
/// from (seed, epoch, image index) alone, so the batches are the same for any worker count and a
/// run resumed mid-epoch repeats them. A corrupt or unreadable image is skipped: logged once by
/// name, counted, and its place taken by the next image of the epoch's order that decodes.
/// With <see cref="JpegDraft"/> a large JPEG is decoded at 1/2, 1/4 or 1/8 of its size where the
/// transform's output still only shrinks from that (<see cref="ImageDecoder.DecodeAtLeast"/>).
/// </summary>
public sealed class ImageBatchLoader : IBatchLoader
{
    private readonly TextWriter? _log;
    private readonly HashSet<int> _reported = [];

    public ImageBatchLoader(IImageSource source, int batchSize, IImageTransform transform, ChannelNormalization normalization,
        bool shuffle, bool dropLast, int seed, int workers = 0, int prefetchBatches = 3, TextWriter? log = null, int? limit = null,
        (int Rank, int World)? shard = null, bool jpegDraft = true)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(transform);
        ArgumentNullException.ThrowIfNull(normalization);
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), $"image loader: batch size must be positive, got {batchSize}");
        if (workers < 0) throw new ArgumentOutOfRangeException(nameof(workers), $"image loader: workers must be >= 0 (0: one per core), got {workers}");
        if (prefetchBatches < 1) throw new ArgumentOutOfRangeException(nameof(prefetchBatches), $"image loader: prefetch must be at least 1 batch, got {prefetchBatches}");
        if (normalization.Channels != 3) throw new ArgumentException($"image loader: RGB needs a 3-channel normalisation, got {normalization.Channels}");
        if (limit is < 1) throw new ArgumentOutOfRangeException(nameof(limit), $"image loader: limit must be at least 1, got {limit}");
        _images = Math.Min(source.Count, limit ?? int.MaxValue);
        if (_images == 0) throw new ArgumentException($"image loader: {source.Name} holds no images");
        Shard = EpochPlan.CheckShard(shard, "image loader");
        Count = _images / Shard.World;
        if (dropLast && Count < batchSize)
            throw new ArgumentException($"image loader: batch size {batchSize} is larger than {source.Name} ({Count} images), so dropping the last partial batch leaves nothing");
        Source = source;
        BatchSize = batchSize;
        Transform = transform;
        Normalization = normalization;
        Shuffle = shuffle;
        DropLast = dropLast;
        Seed = seed;
        Workers = workers == 0 ? Environment.ProcessorCount : workers;
        PrefetchBatches = prefetchBatches;
        JpegDraft = jpegDraft;
        _log = log;
        Statistics = new LoaderStatistics(Workers);
    }

    public IImageSource Source { get; }

    private readonly int _images; // the source's, or its first limit (quick runs)

    /// <summary>A data-parallel rank's share of every epoch (<see cref="EpochPlan.Shard"/>); (0, 1) alone.</summary>
    public (int Rank, int World) Shard { get; }

    /// <summary>Images per epoch: those used (the source's, or its first <c>limit</c>), or this rank's share of them.</summary>
    public int Count { get; }
    public int BatchSize { get; }
    public IImageTransform Transform { get; }
    public ChannelNormalization Normalization { get; }
    public bool Shuffle { get; }
    public bool DropLast { get; }
    public int Seed { get; }
    public int Workers { get; }
    public int PrefetchBatches { get; }

    /// <summary>
    /// Whether a JPEG may be decoded reduced in the DCT domain (1/2, 1/4, 1/8) where the crop or
    /// resize that follows still only shrinks (PIL's draft mode; the crop's draws are the same).
    /// The result is not torchvision's to the byte: a shrink of the DCT-reduced image, not of the
    /// full one, within a few grey levels (ImageDecoderDraftTests); false decodes every image at
    /// full size, for the exact torchvision path (`--jpeg-draft off`).
    /// </summary>
    public bool JpegDraft { get; }
    public LoaderStatistics Statistics { get; }

    public int BatchesPerEpoch => DropLast ? Count / BatchSize : (Count + BatchSize - 1) / BatchSize;

    /// <summary>The dataset index of each position of <paramref name="epoch"/> (the epoch plan's order).</summary>
    public int[] Order(int epoch) => EpochPlan.Create(_images, Seed, epoch, Shuffle, Augmentation.None).Shard(Shard.Rank, Shard.World).Order;

    /// <summary>The generator of image <paramref name="index"/>'s transform in <paramref name="epoch"/>.</summary>
    public static Random RandomFor(int seed, int epoch, int index) => new(EpochPlan.MixToInt(EpochPlan.MixToInt(seed, epoch, 3), index, 0));

    /// <summary>Builds batch <paramref name="batchIndex"/> of <paramref name="epoch"/> on the calling thread (no workers).</summary>
    public Batch ReadBatch(int epoch, int batchIndex)
    {
        if (batchIndex < 0 || batchIndex >= BatchesPerEpoch) throw new ArgumentOutOfRangeException(nameof(batchIndex), $"image loader: batch index {batchIndex} is outside [0, {BatchesPerEpoch - 1}]");
        var order = Order(epoch);
        var batch = NewBatch(SizeOf(batchIndex));
        batch.Index = batchIndex;
        for (int i = 0; i < batch.Count; i++) FillImage(epoch, order, batchIndex * BatchSize + i, batch, i);
        return batch;
    }

    public IEnumerable<Batch> Epoch(int epoch, int firstBatch = 0)
    {
        if (firstBatch < 0 || firstBatch > BatchesPerEpoch) throw new ArgumentOutOfRangeException(nameof(firstBatch), $"image loader: batch index {firstBatch} is outside [0, {BatchesPerEpoch}]");
        return Iterate(epoch, firstBatch);
    }

    private IEnumerable<Batch> Iterate(int epoch, int firstBatch)
    {
        var order = Order(epoch);
        int batches = BatchesPerEpoch;
        long firstImage = (long)firstBatch * BatchSize;
        long endImage = Math.Min((long)batches * BatchSize, Count);
        var ring = new Ring(PrefetchBatches, firstBatch);
        long nextImage = firstImage;

        void Work()
        {
            try
            {
                while (true)
                {
                    long position = Interlocked.Increment(ref nextImage) - 1;
                    if (position >= endImage) return;
                    int b = (int)(position / BatchSize);
                    var batch = ring.Claim(b, () => SizeOf(b), NewBatch);
                    if (batch is null) return; // stopped
                    FillImage(epoch, order, (int)position, batch, (int)(position - (long)b * BatchSize));
                    ring.ImageDone(b);
                }
            }
            catch (Exception e)
            {
                ring.Fail(e);
            }
        }

        var threads = new Thread[firstImage < endImage ? Math.Min(Workers, (int)(endImage - firstImage)) : 0];
        for (int w = 0; w < threads.Length; w++)
        {
            threads[w] = new Thread(Work) { IsBackground = true, Name = $"image-loader-{w}" };
            threads[w].Start();
        }
        try
        {
            for (int b = firstBatch; b < batches; b++)
            {
                long waitStart = Stopwatch.GetTimestamp();
                var batch = ring.WaitFull(b);
                Statistics.AddWait(Stopwatch.GetTimestamp() - waitStart);
                if (batch is null) ExceptionDispatchInfo.Capture(ring.Failure!).Throw();
                yield return batch!;
                ring.Release(b);
            }
        }
        finally
        {
            ring.Stop();
            foreach (var thread in threads) thread.Join();
        }
    }

    /// <summary>
    /// Writes position <paramref name="position"/> of the epoch into slot <paramref name="slot"/> of
    /// <paramref name="batch"/>; a corrupt image is replaced by the next position's image that decodes.
    /// </summary>
    private void FillImage(int epoch, int[] order, int position, Batch batch, int slot)
    {
        long start = Stopwatch.GetTimestamp();
        int pixels = Transform.Size * Transform.Size * 3;
        var destination = batch.Images.AsSpan(slot * pixels, pixels);
        for (int attempt = 0; attempt < order.Length; attempt++)
        {
            int index = order[(position + attempt) % order.Length];
            DecodedImage image;
            try
            {
                var encoded = Source.Read(index);
                // The draft's scale comes from the crop, drawn here from a generator of its own seeded
                // as the transform's, so that the transform below draws the very same crop.
                image = JpegDraft
                    ? ImageDecoder.DecodeAtLeast(encoded, Source.Describe(index), (w, h) => Transform.MinimumScale(w, h, RandomFor(Seed, epoch, index)))
                    : DecodedImage.Full(ImageDecoder.Decode(encoded, Source.Describe(index)));
            }
            catch (CorruptImageException e)
            {
                Skipped(index, e);
                continue;
            }
            Transform.Write(image, RandomFor(Seed, epoch, index), Normalization, destination);
            batch.Labels[slot] = Source.Label(index);
            Statistics.AddImage(Stopwatch.GetTimestamp() - start);
            return;
        }
        throw new DataException($"{Source.Name}: no image of the {order.Length} could be decoded");
    }

    private void Skipped(int index, CorruptImageException e)
    {
        Statistics.AddSkipped();
        if (_log is null) return;
        lock (_reported)
        {
            // Once per image: a corrupt file would otherwise be reported every epoch.
            if (!_reported.Add(index)) return;
            _log.WriteLine($"skipped a corrupt image ({Statistics.Skipped} so far), the next image takes its place: {e.Message}");
        }
    }

    private int SizeOf(int batchIndex) => Math.Min(BatchSize, Count - batchIndex * BatchSize);

    private Batch NewBatch(int size) => new(size, Transform.Size, Transform.Size, 3);

    /// <summary>
    /// The prefetch ring: batch b lives in slot b mod size, and a worker may start on batch b only
    /// once the caller has released batch b - size. One lock guards it all; the workers hold it
    /// only to claim and to finish, never while decoding.
    /// </summary>
    private sealed class Ring(int size, int firstBatch)
    {
        private readonly object _gate = new();
        private readonly Batch?[] _buffers = new Batch?[size];
        private readonly int[] _holds = Enumerable.Repeat(-1, size).ToArray(); // batch index in each slot
        private readonly int[] _remaining = new int[size];                     // images still to fill
        private int _released = firstBatch;                                    // batches below this are consumed
        private bool _stopped;

        public Exception? Failure { get; private set; }

        /// <summary>The buffer of batch <paramref name="b"/> once its slot is free; null when stopped.</summary>
        public Batch? Claim(int b, Func<int> sizeOf, Func<int, Batch> create)
        {
            lock (_gate)
            {
                while (!_stopped && b >= _released + size) Monitor.Wait(_gate);
                if (_stopped) return null;
                int slot = b % size;
                if (_holds[slot] != b)
                {
                    int count = sizeOf();
                    _holds[slot] = b;
                    _remaining[slot] = count;
                    if (_buffers[slot]?.Count != count) _buffers[slot] = create(count);
                    _buffers[slot]!.Index = b;
                }
                return _buffers[slot];
            }
        }

        public void ImageDone(int b)
        {
            lock (_gate)
            {
                if (--_remaining[b % size] == 0) Monitor.PulseAll(_gate);
            }
        }

        /// <summary>Batch <paramref name="b"/> once every image is in; null after a failure.</summary>
        public Batch? WaitFull(int b)
        {
            lock (_gate)
            {
                int slot = b % size;
                while (Failure is null && !(_holds[slot] == b && _remaining[slot] == 0)) Monitor.Wait(_gate);
                return Failure is null ? _buffers[slot] : null;
            }
        }

        public void Release(int b)
        {
            lock (_gate)
            {
                _released = b + 1;
                Monitor.PulseAll(_gate);
            }
        }

        public void Fail(Exception e)
        {
            lock (_gate)
            {
                Failure ??= e;
                _stopped = true;
                Monitor.PulseAll(_gate);
            }
        }

        public void Stop()
        {
            lock (_gate)
            {
                _stopped = true;
                Monitor.PulseAll(_gate);
            }
        }
    }
}
