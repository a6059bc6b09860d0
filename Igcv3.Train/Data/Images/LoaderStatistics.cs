using System.Diagnostics;

namespace Igcv3.Train.Data.Images;

/// <summary>
/// Running counts of an <see cref="ImageBatchLoader"/>, updated by its workers: images prepared,
/// the workers' busy time (reading, decoding, transforming), and the corrupt images skipped.
/// <see cref="ImagesPerSecond"/> is what the loader could deliver if it never waited for the
/// trainer: images / (busy time / workers). <see cref="WaitSeconds"/> is the time the caller
/// spent waiting for a batch: where it grows, the loader limits the training.
/// </summary>
public sealed class LoaderStatistics(int workers)
{
    private long _images;
    private long _busyTicks;
    private long _skipped;
    private long _waitTicks;

    public int Workers { get; } = workers;
    public long Images => Interlocked.Read(ref _images);
    public long Skipped => Interlocked.Read(ref _skipped);
    public double BusySeconds => Interlocked.Read(ref _busyTicks) / (double)Stopwatch.Frequency;

    public double WaitSeconds => Interlocked.Read(ref _waitTicks) / (double)Stopwatch.Frequency;

    public double ImagesPerSecond => BusySeconds > 0 ? Images / (BusySeconds / Workers) : 0;

    internal void AddImage(long ticks)
    {
        Interlocked.Increment(ref _images);
        Interlocked.Add(ref _busyTicks, ticks);
    }

    internal void AddWait(long ticks) => Interlocked.Add(ref _waitTicks, ticks);

    internal void AddSkipped() => Interlocked.Increment(ref _skipped);
}
