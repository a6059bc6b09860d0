using Igcv3.Train.Data;
using Xunit;

namespace Igcv3.Tests.Train;

public class AugmentationTests
{
    /// <summary>
    /// The torchvision definition, built step by step: zero-pad by <paramref name="pad"/>, take the
    /// HxW window at (top, left), then mirror the columns if asked. Returns [C, H, W].
    /// </summary>
    private static int[,,] PadCropFlipReference(ReadOnlySpan<byte> image, int channels, int height, int width, int pad, int top, int left, bool flip)
    {
        var padded = new int[channels, height + 2 * pad, width + 2 * pad];
        for (int c = 0; c < channels; c++)
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++) padded[c, y + pad, x + pad] = image[(c * height + y) * width + x];
        var cropped = new int[channels, height, width];
        for (int c = 0; c < channels; c++)
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++) cropped[c, y, x] = padded[c, top + y, left + x];
        if (!flip) return cropped;
        var mirrored = new int[channels, height, width];
        for (int c = 0; c < channels; c++)
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++) mirrored[c, y, x] = cropped[c, y, width - 1 - x];
        return mirrored;
    }

    [Theory]
    [InlineData(0, 0, false)]
    [InlineData(0, 0, true)]
    [InlineData(2, -1, false)]
    [InlineData(-2, 2, true)]
    [InlineData(2, 2, true)]
    [InlineData(-2, -2, false)]
    public void CropFlip_OnATinyImage_MatchesPadCropMirrorBuiltByHand(int shiftY, int shiftX, bool flip)
    {
        const int pad = 2, channels = 3, height = 5, width = 4;
        var data = TinyImages.Random(1, channels, height, width, classes: 1, seed: 5);
        var images = new float[height * width * channels];

        BatchAssembler.Fill(data, [0], [new SampleTransform(shiftY, shiftX, flip)], TinyImages.Raw(channels), images, new int[1]);

        var expected = PadCropFlipReference(data.Image(0), channels, height, width, pad, shiftY + pad, shiftX + pad, flip);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                for (int c = 0; c < channels; c++)
                    Assert.Equal(expected[c, y, x], images[(y * width + x) * channels + c]);
    }

    [Fact]
    public void CropFlip_PaddingIsAZeroPixelAfterNormalisation()
    {
        var data = TinyImages.Random(1, 3, 4, 4, classes: 1, seed: 6);
        var norm = new ChannelNormalization([0.5f, 0.4f, 0.3f], [0.25f, 0.2f, 0.1f]);
        var images = new float[4 * 4 * 3];

        BatchAssembler.Fill(data, [0], [new SampleTransform(-1, 0, false)], norm, images, new int[1]);

        // Row 0 comes from padded row -1: all padding.
        for (int x = 0; x < 4; x++)
            for (int c = 0; c < 3; c++)
                Assert.Equal((0 - norm.Mean[c]) / norm.Std[c], images[x * 3 + c], 1e-5);
    }

    [Fact]
    public void PadCropFlip_DrawsEveryShiftInRange_AndFlipsAboutHalf()
    {
        var augmentation = Augmentation.PadCropFlip(4);
        var random = new Random(1);
        var draws = Enumerable.Range(0, 4000).Select(_ => augmentation.Draw(random)).ToArray();

        Assert.Equal(Enumerable.Range(-4, 9), draws.Select(d => d.ShiftY).Distinct().Order());
        Assert.Equal(Enumerable.Range(-4, 9), draws.Select(d => d.ShiftX).Distinct().Order());
        Assert.InRange(draws.Count(d => d.Flip), 1800, 2200);
    }

    [Fact]
    public void None_IsTheIdentity()
    {
        Assert.True(Augmentation.None.IsIdentity);
        Assert.Equal(SampleTransform.Identity, Augmentation.None.Draw(new Random(3)));
        var plan = EpochPlan.Create(20, seed: 1, epoch: 2, shuffle: true, Augmentation.None);
        Assert.All(plan.Transforms, t => Assert.Equal(SampleTransform.Identity, t));
        Assert.Throws<ArgumentOutOfRangeException>(() => Augmentation.PadCropFlip(-1));
    }

    [Fact]
    public void EpochPlan_IsDeterministicPerSeedAndEpoch_AndDiffersAcrossEpochs()
    {
        var a = EpochPlan.Create(500, seed: 42, epoch: 7, shuffle: true, Augmentation.PadCropFlip());
        var b = EpochPlan.Create(500, seed: 42, epoch: 7, shuffle: true, Augmentation.PadCropFlip());
        var nextEpoch = EpochPlan.Create(500, seed: 42, epoch: 8, shuffle: true, Augmentation.PadCropFlip());
        var otherSeed = EpochPlan.Create(500, seed: 43, epoch: 7, shuffle: true, Augmentation.PadCropFlip());

        Assert.Equal(a.Order, b.Order);
        Assert.Equal(a.Transforms, b.Transforms);
        Assert.NotEqual(a.Order, nextEpoch.Order);
        Assert.NotEqual(a.Transforms, nextEpoch.Transforms);
        Assert.NotEqual(a.Order, otherSeed.Order);
        Assert.Equal(Enumerable.Range(0, 500), a.Order.Order()); // a permutation
    }

    [Fact]
    public void EpochPlan_OrderDoesNotDependOnAugmentation_AndNoShuffleKeepsFileOrder()
    {
        var augmented = EpochPlan.Create(100, seed: 1, epoch: 3, shuffle: true, Augmentation.PadCropFlip());
        var plain = EpochPlan.Create(100, seed: 1, epoch: 3, shuffle: true, Augmentation.None);
        Assert.Equal(augmented.Order, plain.Order);

        var unshuffled = EpochPlan.Create(100, seed: 1, epoch: 3, shuffle: false, Augmentation.PadCropFlip());
        Assert.Equal(Enumerable.Range(0, 100), unshuffled.Order);
        Assert.Equal(augmented.Transforms, unshuffled.Transforms);
    }
}
