using Igcv3.Train.Data;
using Xunit;

namespace Igcv3.Tests.Train;

public class SyntheticDatasetTests
{
    [Fact]
    public void SameSeed_SameImages_OtherSeed_OtherImages()
    {
        var a = SyntheticDataset.Create(50, seed: 3);
        var b = SyntheticDataset.Create(50, seed: 3);
        var c = SyntheticDataset.Create(50, seed: 4);

        Assert.True(a.Pixels.SequenceEqual(b.Pixels));
        Assert.False(a.Pixels.SequenceEqual(c.Pixels));
        Assert.Equal(a.Labels.ToArray(), c.Labels.ToArray());
    }

    [Fact]
    public void Labels_AreBalanced_AndShapeIsCifars()
    {
        var data = SyntheticDataset.Create(100, classCount: 10, seed: 1);

        Assert.Equal((3, 32, 32), (data.Channels, data.Height, data.Width));
        Assert.All(Enumerable.Range(0, 10), k => Assert.Equal(10, data.Labels.ToArray().Count(l => l == k)));
    }

    /// <summary>An image's mean value of each channel: a 3-number summary any network can compute.</summary>
    private static double[] MeanColour(ImageDataset data, int index)
    {
        int plane = data.Height * data.Width;
        var image = data.Image(index).ToArray();
        return Enumerable.Range(0, data.Channels).Select(c => image.Skip(c * plane).Take(plane).Average(p => (double)p)).ToArray();
    }

    [Theory]
    [InlineData(10)]
    [InlineData(3)]
    public void Classes_AreLearnable_NearestClassColourOnHeldOutImagesBeatsNinetyFivePercent(int classes)
    {
        // Fit each class's mean colour on one seed, classify another seed's images by the nearest one:
        // if this simple rule separates the classes, a small convnet can too.
        var train = SyntheticDataset.Create(40 * classes, classes, seed: 1);
        var test = SyntheticDataset.Create(20 * classes, classes, seed: 2);
        var centroids = new double[classes][];
        for (int k = 0; k < classes; k++) centroids[k] = new double[3];
        for (int i = 0; i < train.Count; i++)
        {
            var colour = MeanColour(train, i);
            for (int c = 0; c < 3; c++) centroids[train.Label(i)][c] += colour[c] / 40;
        }

        int correct = 0;
        for (int i = 0; i < test.Count; i++)
        {
            var colour = MeanColour(test, i);
            int nearest = Enumerable.Range(0, classes)
                .MinBy(k => Enumerable.Range(0, 3).Sum(c => (colour[c] - centroids[k][c]) * (colour[c] - centroids[k][c])));
            if (nearest == test.Label(i)) correct++;
        }

        Assert.True(correct > 0.95 * test.Count, $"nearest class colour got {correct} of {test.Count}");
    }

    [Fact]
    public void BadArguments_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticDataset.Create(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticDataset.Create(10, classCount: 1));
    }
}
