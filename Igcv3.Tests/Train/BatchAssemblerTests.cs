using Igcv3.Train.Data;
using Xunit;

namespace Igcv3.Tests.Train;

public class BatchAssemblerTests
{
    [Theory]
    [InlineData(1, 3, 5, 5)]
    [InlineData(3, 3, 32, 32)]
    [InlineData(2, 1, 1, 1)]
    public void Fill_Identity_IsTransposeToNhwcAndNormalise(int batch, int channels, int height, int width)
    {
        var data = TinyImages.Random(7, channels, height, width, classes: 3, seed: 11);
        var mean = Enumerable.Range(0, channels).Select(c => 0.3f + 0.1f * c).ToArray();
        var std = Enumerable.Range(0, channels).Select(c => 0.2f + 0.05f * c).ToArray();
        var norm = new ChannelNormalization(mean, std);
        int[] indices = Enumerable.Range(0, batch).Select(b => (5 * b + 2) % 7).ToArray();
        var images = new float[batch * height * width * channels];
        var labels = new int[batch];

        BatchAssembler.Fill(data, indices, new SampleTransform[batch], norm, images, labels);

        for (int b = 0; b < batch; b++)
        {
            Assert.Equal(data.Label(indices[b]), labels[b]);
            var source = data.Image(indices[b]);
            for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            for (int c = 0; c < channels; c++)
            {
                double expected = (source[(c * height + y) * width + x] / 255.0 - mean[c]) / std[c];
                Assert.Equal(expected, images[((b * height + y) * width + x) * channels + c], 1e-5);
            }
        }
    }

    [Fact]
    public void Fill_RejectsWrongBufferSizes_AndChannelMismatch()
    {
        var data = TinyImages.Random(4, 3, 5, 5, classes: 2, seed: 1);
        var e = Assert.Throws<ArgumentException>(() =>
            BatchAssembler.Fill(data, [0, 1], new SampleTransform[2], TinyImages.Raw(3), new float[2 * 75 - 1], new int[2]));
        Assert.Contains("[2, 5, 5, 3]", e.Message);
        var e2 = Assert.Throws<ArgumentException>(() =>
            BatchAssembler.Fill(data, [0], new SampleTransform[1], TinyImages.Raw(1), new float[75], new int[1]));
        Assert.Contains("1 channels", e2.Message);
    }

    [Fact]
    public void FromDataset_MatchesNaiveMeanAndPopulationStd()
    {
        var data = TinyImages.Random(9, 3, 5, 4, classes: 2, seed: 3);

        var norm = ChannelNormalization.FromDataset(data);

        for (int c = 0; c < 3; c++)
        {
            var values = new List<double>();
            for (int i = 0; i < data.Count; i++)
                for (int p = 0; p < 20; p++) values.Add(data.Image(i)[c * 20 + p] / 255.0);
            double mean = values.Average();
            double std = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / values.Count);
            Assert.Equal(mean, norm.Mean[c], 1e-6);
            Assert.Equal(std, norm.Std[c], 1e-6);
        }
    }

    [Fact]
    public void Normalization_RejectsNonPositiveStd_AndChannelCountMismatch()
    {
        Assert.Throws<ArgumentException>(() => new ChannelNormalization([0.5f, 0.5f], [0.2f, 0f]));
        Assert.Throws<ArgumentException>(() => new ChannelNormalization([0.5f, 0.5f], [0.2f]));
    }
}
