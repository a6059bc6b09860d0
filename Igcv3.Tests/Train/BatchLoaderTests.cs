using Igcv3.Train.Data;
using Xunit;

namespace Igcv3.Tests.Train;

public class BatchLoaderTests
{
    private static (float[] Images, int[] Labels, int Index) Copy(Batch b) => ((float[])b.Images.Clone(), (int[])b.Labels.Clone(), b.Index);

    [Fact]
    public void Epoch_WithBackgroundWorkerAndRandomDelays_EqualsBatchesBuiltSynchronously()
    {
        var data = TinyImages.Random(53, 3, 8, 8, classes: 5, seed: 2);
        var loader = new BatchLoader(data, 8, TinyImages.Raw(3), Augmentation.PadCropFlip(2), shuffle: true, dropLast: false, seed: 9);
        var delays = new Random(1);
        loader.BeforeFill = _ => Thread.Sleep(delays.Next(3)); // only the worker touches this Random
        var consumerDelays = new Random(2);

        var fromWorker = new List<(float[] Images, int[] Labels, int Index)>();
        foreach (var batch in loader.Epoch(4))
        {
            Thread.Sleep(consumerDelays.Next(3));
            fromWorker.Add(Copy(batch));
        }

        Assert.Equal(7, fromWorker.Count);
        for (int i = 0; i < fromWorker.Count; i++)
        {
            var expected = loader.ReadBatch(4, i);
            Assert.Equal(i, fromWorker[i].Index);
            Assert.Equal(expected.Labels, fromWorker[i].Labels);
            Assert.Equal(expected.Images, fromWorker[i].Images);
        }
    }

    [Fact]
    public void Epoch_VisitsEveryImageOnceInThePlansOrder()
    {
        var data = TinyImages.Indexed(37, 3, 4, 4, classes: 3);
        var loader = new BatchLoader(data, 5, TinyImages.Raw(3), Augmentation.None, shuffle: true, dropLast: false, seed: 3);

        // Pixel (y=0, x=0, c=0) of image i is i.
        var seen = loader.Epoch(1).SelectMany(b => Enumerable.Range(0, b.Count).Select(k => (int)b.Images[k * 48])).ToArray();

        Assert.Equal(loader.Plan(1).Order, seen);
        Assert.Equal(Enumerable.Range(0, 37), seen.Order());
        Assert.NotEqual(Enumerable.Range(0, 37), seen); // shuffled
    }

    [Fact]
    public void Epoch_SameSeedAndEpoch_GivesTheSameBatches_OtherEpochsDiffer()
    {
        var data = TinyImages.Random(40, 3, 6, 6, classes: 4, seed: 5);
        BatchLoader Make() => new(data, 8, TinyImages.Raw(3), Augmentation.PadCropFlip(2), shuffle: true, dropLast: true, seed: 17);

        var first = Make().Epoch(2).Select(Copy).ToList();
        var again = Make().Epoch(2).Select(Copy).ToList();
        var other = Make().Epoch(3).Select(Copy).ToList();

        Assert.Equal(first.Select(b => b.Images), again.Select(b => b.Images));
        Assert.Equal(first.Select(b => b.Labels), again.Select(b => b.Labels));
        Assert.NotEqual(first.Select(b => b.Images), other.Select(b => b.Images));
    }

    [Fact]
    public void DropLast_DropsThePartialBatch_OtherwiseTheLastBatchIsExactlySized()
    {
        var data = TinyImages.Random(10, 3, 2, 2, classes: 2, seed: 6);

        var train = new BatchLoader(data, 4, TinyImages.Raw(3), Augmentation.None, shuffle: true, dropLast: true, seed: 1);
        var eval = new BatchLoader(data, 4, TinyImages.Raw(3), Augmentation.None, shuffle: false, dropLast: false, seed: 1);

        Assert.Equal(2, train.BatchesPerEpoch);
        Assert.Equal([4, 4], train.Epoch(0).Select(b => b.Count));
        Assert.Equal(3, eval.BatchesPerEpoch);
        var sizes = eval.Epoch(0).Select(b => (b.Count, b.Images.Length, b.Labels.Length)).ToArray();
        Assert.Equal([(4, 48, 4), (4, 48, 4), (2, 24, 2)], sizes);
    }

    [Fact]
    public void Epoch_IsDoubleBuffered_OnlyTwoFullBuffersCirculate()
    {
        var data = TinyImages.Random(64, 3, 4, 4, classes: 2, seed: 7);
        var loader = new BatchLoader(data, 4, TinyImages.Raw(3), Augmentation.None, shuffle: true, dropLast: true, seed: 1);

        var buffers = new HashSet<float[]>(ReferenceEqualityComparer.Instance);
        foreach (var batch in loader.Epoch(0)) buffers.Add(batch.Images);

        Assert.Equal(2, buffers.Count);
    }

    [Fact]
    public void Epoch_FromAMiddleBatch_ResumesWithTheSameBatches()
    {
        var data = TinyImages.Random(30, 3, 4, 4, classes: 3, seed: 8);
        var loader = new BatchLoader(data, 4, TinyImages.Raw(3), Augmentation.PadCropFlip(1), shuffle: true, dropLast: false, seed: 2);

        var full = loader.Epoch(5).Select(Copy).ToList();
        var resumed = loader.Epoch(5, firstBatch: 3).Select(Copy).ToList();

        Assert.Equal(full.Skip(3).Select(b => b.Images), resumed.Select(b => b.Images));
        Assert.Equal(full.Skip(3).Select(b => b.Index), resumed.Select(b => b.Index));
        Assert.Empty(loader.Epoch(5, firstBatch: loader.BatchesPerEpoch));
        Assert.Throws<ArgumentOutOfRangeException>(() => loader.Epoch(5, firstBatch: loader.BatchesPerEpoch + 1));
    }

    [Fact]
    public void LeavingAnEpochEarly_StopsTheWorker_AndTheNextEpochRuns()
    {
        var data = TinyImages.Random(100, 3, 4, 4, classes: 2, seed: 9);
        var loader = new BatchLoader(data, 4, TinyImages.Raw(3), Augmentation.None, shuffle: true, dropLast: true, seed: 1);
        int filled = 0;
        loader.BeforeFill = _ => Interlocked.Increment(ref filled);

        foreach (var batch in loader.Epoch(0))
            if (batch.Index == 1) break;
        int filledAfterBreak = Volatile.Read(ref filled);
        Thread.Sleep(50);

        // Bounded: at most the two buffers beyond the ones consumed were filled, and the worker has stopped.
        Assert.InRange(filledAfterBreak, 2, 4);
        Assert.Equal(filledAfterBreak, Volatile.Read(ref filled));
        Assert.Equal(25, loader.Epoch(1).Count());
    }

    [Fact]
    public void AFailureOnTheWorker_ReachesTheCaller_AfterTheBatchesBeforeIt()
    {
        var data = TinyImages.Random(20, 3, 4, 4, classes: 2, seed: 10);
        var loader = new BatchLoader(data, 4, TinyImages.Raw(3), Augmentation.None, shuffle: false, dropLast: false, seed: 1);
        loader.BeforeFill = i => { if (i == 2) throw new IOException("disk gone"); };

        var received = new List<int>();
        var e = Assert.Throws<IOException>(() => { foreach (var b in loader.Epoch(0)) received.Add(b.Index); });

        Assert.Equal("disk gone", e.Message);
        Assert.Equal([0, 1], received);
    }

    [Fact]
    public void Constructor_RejectsBadArguments()
    {
        var data = TinyImages.Random(3, 3, 2, 2, classes: 2, seed: 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchLoader(data, 0, TinyImages.Raw(3), Augmentation.None, false, false, 1));
        var e = Assert.Throws<ArgumentException>(() => new BatchLoader(data, 4, TinyImages.Raw(3), Augmentation.None, false, dropLast: true, 1));
        Assert.Contains("larger than dataset", e.Message);
        Assert.Throws<ArgumentException>(() => new BatchLoader(data, 2, TinyImages.Raw(1), Augmentation.None, false, false, 1));
    }
}
