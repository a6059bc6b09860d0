using Igcv3.Tests.Support;
using Igcv3.Train.Data;
using Igcv3.Train.Data.Images;
using Xunit;

namespace Igcv3.Tests.Train.Images;

public class ImageBatchLoaderTests
{
    private static readonly ChannelNormalization Raw = TinyImages.Raw(3);

    private static ImageBatchLoader Train(IImageSource source, int workers, int batch = 4, int prefetch = 3, TextWriter? log = null) =>
        new(source, batch, new TrainTransform(size: 12, jitter: 0.2, lighting: 0.1), Raw, shuffle: true, dropLast: true, seed: 5, workers, prefetch, log);

    private static List<(float[] Images, int[] Labels, int Index)> Collect(IEnumerable<Batch> batches) =>
        batches.Select(b => (b.Images.ToArray(), b.Labels.ToArray(), b.Index)).ToList();

    [Fact]
    public void Batches_AreTheSame_ForAnyWorkerCount_AndOnOneThread()
    {
        var source = MemoryImageSource.Indexed(22, classes: 3, beforeRead: i => Thread.Sleep(i % 3)); // uneven timing
        var reference = Enumerable.Range(0, 5).Select(b => Train(source, 1).ReadBatch(1, b)).ToList();
        foreach (int workers in new[] { 1, 3, 8 })
        {
            foreach (int prefetch in new[] { 1, 2, 4 })
            {
                var batches = Collect(Train(source, workers, prefetch: prefetch).Epoch(1));
                Assert.Equal(5, batches.Count); // 22 / 4, drop-last
                for (int b = 0; b < 5; b++)
                {
                    Assert.Equal(b, batches[b].Index);
                    Assert.Equal(reference[b].Labels, batches[b].Labels);
                    Assert.Equal(reference[b].Images, batches[b].Images);
                }
            }
        }
    }

    [Fact]
    public void Resume_MidEpoch_RepeatsTheRestOfTheEpoch()
    {
        var source = MemoryImageSource.Indexed(20, classes: 4);
        var full = Collect(Train(source, 3).Epoch(2));
        var resumed = Collect(Train(source, 2).Epoch(2, firstBatch: 3));
        Assert.Equal(2, resumed.Count);
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(full[3 + i].Index, resumed[i].Index);
            Assert.Equal(full[3 + i].Images, resumed[i].Images);
            Assert.Equal(full[3 + i].Labels, resumed[i].Labels);
        }
        Assert.NotEqual(full[0].Images, Collect(Train(source, 3).Epoch(3))[0].Images); // another epoch, other crops
    }

    [Fact]
    public void DataParallelRanks_TakeDisjointInterleavedShares_AndTheirImagesAreThoseOfOneLoader()
    {
        var source = MemoryImageSource.Indexed(22, classes: 22); // label = index
        var one = Train(source, 2);
        var ranks = Enumerable.Range(0, 2).Select(r =>
            new ImageBatchLoader(source, 2, new TrainTransform(size: 12, jitter: 0.2, lighting: 0.1), Raw, shuffle: true, dropLast: true, seed: 5, workers: 2, shard: (r, 2))).ToList();
        Assert.All(ranks, r => Assert.Equal(11, r.Count));
        var whole = one.Order(1);
        for (int r = 0; r < 2; r++) Assert.Equal(Enumerable.Range(0, 11).Select(i => whole[i * 2 + r]), ranks[r].Order(1));
        // Batch k of the one loader (batch 4) is batch k of rank 0 and of rank 1 (batch 2 each),
        // interleaved: each image with the same crop, since its draws depend on (seed, epoch, image).
        var single = Collect(one.Epoch(1));
        var perRank = ranks.Select(r => Collect(r.Epoch(1))).ToList();
        int pixels = 12 * 12 * 3;
        for (int k = 0; k < 5; k++)
        {
            for (int j = 0; j < 4; j++)
            {
                var (rank, slot) = (j % 2, j / 2);
                Assert.Equal(single[k].Labels[j], perRank[rank][k].Labels[slot]);
                Assert.Equal(single[k].Images.AsSpan(j * pixels, pixels).ToArray(), perRank[rank][k].Images.AsSpan(slot * pixels, pixels).ToArray());
            }
        }
    }

    [Fact]
    public void Order_IsTheEpochPlans_AndEvaluationKeepsTheLastPartialBatch()
    {
        var source = MemoryImageSource.Indexed(10, classes: 10); // label = index
        var train = Train(source, 2);
        var order = train.Order(0);
        Assert.Equal(EpochPlan.Create(10, 5, 0, shuffle: true, Augmentation.None).Order, order);
        var labels = Collect(train.Epoch(0)).SelectMany(b => b.Labels).ToArray();
        Assert.Equal(order.Take(8), labels);

        var eval = new ImageBatchLoader(source, 4, new EvalTransform(8, 0.5), Raw, shuffle: false, dropLast: false, seed: 5, workers: 3);
        var batches = Collect(eval.Epoch(0));
        Assert.Equal([4, 4, 2], batches.Select(b => b.Labels.Length));
        Assert.Equal(Enumerable.Range(0, 10), batches.SelectMany(b => b.Labels));
        // The red channel of every pixel is the image's index (a flat channel survives the resize exactly).
        for (int b = 0; b < 3; b++)
            for (int i = 0; i < batches[b].Labels.Length; i++)
                Assert.Equal(b * 4 + i, batches[b].Images[i * 8 * 8 * 3]);
    }

    [Fact]
    public void CorruptImages_AreSkipped_Counted_NamedOnce_AndReplacedByTheNextImage()
    {
        var good = MemoryImageSource.Indexed(8, classes: 8);
        var encoded = Enumerable.Range(0, 8).Select(good.Read).ToArray();
        encoded[2] = [1, 2, 3, 4];                              // not an image
        encoded[5] = encoded[5][..(encoded[5].Length / 2)];     // truncated
        var source = new MemoryImageSource(encoded, Enumerable.Range(0, 8).ToArray(), 8);
        var log = new StringWriter();
        var eval = new ImageBatchLoader(source, 4, new EvalTransform(8, 0.5), Raw, shuffle: false, dropLast: false, seed: 1, workers: 3, log: log);
        for (int epoch = 0; epoch < 2; epoch++)
        {
            var labels = Collect(eval.Epoch(epoch)).SelectMany(b => b.Labels).ToArray();
            Assert.Equal([0, 1, 3, 3, 4, 6, 6, 7], labels);
        }
        Assert.Equal(4, eval.Statistics.Skipped); // two per epoch
        string text = log.ToString();
        Assert.Single(text.Split('\n'), l => l.Contains("image-2.png"));
        Assert.Single(text.Split('\n'), l => l.Contains("image-5.png"));
        Assert.True(text.Contains("truncated") || text.Contains("damaged"), text);
        Assert.Equal(16, eval.Statistics.Images);
        Assert.True(eval.Statistics.ImagesPerSecond > 0);
    }

    [Fact]
    public void LeavingEarly_StopsTheWorkers_AndAWorkersFailureReachesTheCaller()
    {
        var source = MemoryImageSource.Indexed(40, classes: 2);
        var loader = Train(source, 4, batch: 2, prefetch: 2);
        foreach (var _ in loader.Epoch(0)) break; // must return, not hang on workers waiting for free buffers

        var failing = MemoryImageSource.Indexed(40, classes: 2, beforeRead: i => { if (i == 17) throw new InvalidOperationException("disk gone"); });
        var e = Assert.Throws<InvalidOperationException>(() => Collect(new ImageBatchLoader(failing, 4, new EvalTransform(8, 0.5), Raw, false, false, 1, workers: 3).Epoch(0)));
        Assert.Equal("disk gone", e.Message);
    }

    [Fact]
    public void FromAFolder_OnDisk()
    {
        using var temp = new TempFolder();
        for (int k = 0; k < 2; k++)
        {
            Directory.CreateDirectory(temp.File($"c{k}"));
            for (int i = 0; i < 3; i++)
                File.WriteAllBytes(Path.Combine(temp.File($"c{k}"), $"{i}.jpg"), EncodedImages.Jpeg(EncodedImages.Make(30, 20, (_, _) => ((byte)(k * 200), 50, 50))));
        }
        var source = ImageFolderSource.Open(temp.Path, "train");
        var loader = new ImageBatchLoader(source, 3, new EvalTransform(8, 0.5), Raw, false, false, 1, workers: 2);
        var batches = Collect(loader.Epoch(0));
        Assert.Equal([0, 0, 0, 1, 1, 1], batches.SelectMany(b => b.Labels));
        Assert.InRange(batches[1].Images[0], 190, 210); // red of class 1, through JPEG
    }
}
