using Igcv3.Engine;
using Igcv3.Engine.Cpu;
using Igcv3.Tests.Support;
using Xunit;

namespace Igcv3.Tests.Engine;

/// <summary>The explicit IGC permutation P(G): y[.., j*G + g] = x[.., g*(C/G) + j]. Expected values
/// come from the reshape-transpose definition written out in the test, never from the engine's
/// <see cref="ChannelPermutation"/> tables.</summary>
public class ChannelShuffleTests
{
    /// <summary>P(G) applied to the rows of a [rows, C] array by the spec's definition: view each row
    /// as [G, C/G], transpose, read back. Groups 0 or 1 copy.</summary>
    internal static double[] NaiveShuffle(double[] x, int channels, int groups)
    {
        var y = (double[])x.Clone();
        if (groups <= 1) return y;
        int perGroup = channels / groups;
        for (int row = 0; row < x.Length / channels; row++)
        {
            for (int g = 0; g < groups; g++)
            {
                for (int j = 0; j < perGroup; j++) y[row * channels + j * groups + g] = x[row * channels + g * perGroup + j];
            }
        }
        return y;
    }

    [Theory]
    [InlineData(6, 1)]
    [InlineData(6, 2)]
    [InlineData(6, 3)]
    [InlineData(6, 6)]
    [InlineData(7, 1)]
    [InlineData(7, 7)]
    [InlineData(12, 4)]
    [InlineData(15, 5)]
    [InlineData(15, 3)]
    [InlineData(16, 8)]
    public void ShuffleThenInverse_IsIdentity(int channels, int groups)
    {
        var x = Make.SmallIntegers([3, 2, 2, channels], 11, range: 50);
        var shuffled = Ops.ChannelShuffle(x, groups);
        var back = Ops.ChannelShuffle(shuffled, channels / groups);
        Assert.Equal(x.ToFloatArray(), back.ToFloatArray());
        // And the other way round: P(G) is also the inverse of P(C/G).
        Assert.Equal(x.ToFloatArray(), Ops.ChannelShuffle(Ops.ChannelShuffle(x, channels / groups), groups).ToFloatArray());
    }

    [Theory]
    [InlineData(6, 2)]
    [InlineData(6, 3)]
    [InlineData(12, 4)]
    [InlineData(15, 5)]
    public void NonTrivialShuffle_MovesChannels(int channels, int groups)
    {
        // Distinct values per channel, so a permutation that moved nothing would be caught.
        var values = new double[2 * channels];
        for (int i = 0; i < values.Length; i++) values[i] = i;
        var x = Tensor.FromArray(Make.Cpu, values, new Shape(2, channels));
        Assert.NotEqual(values, Ops.ChannelShuffle(x, groups).ToDoubleArray());
    }

    [Fact]
    public void TwoGroupsOnSixChannels_InterleavesTheHalves()
    {
        const int channels = 6;
        var values = new double[2 * channels];
        for (int i = 0; i < values.Length; i++) values[i] = 10 * i + 1;
        var x = Tensor.FromArray(Make.Cpu, values, new Shape(2, channels));

        // "Interleave the halves" written as its own loop: x0, x3, x1, x4, x2, x5 per row.
        var interleaved = new List<double>();
        for (int row = 0; row < 2; row++)
        {
            for (int i = 0; i < channels / 2; i++)
            {
                interleaved.Add(values[row * channels + i]);
                interleaved.Add(values[row * channels + channels / 2 + i]);
            }
        }
        var y = Ops.ChannelShuffle(x, 2).ToDoubleArray();
        Assert.Equal(interleaved.ToArray(), y);
        Assert.Equal(NaiveShuffle(values, channels, 2), y);
    }

    [Theory]
    [InlineData(new[] { 12 }, 3)]
    [InlineData(new[] { 5, 6 }, 2)]
    [InlineData(new[] { 3, 5, 5, 9 }, 3)]
    [InlineData(new[] { 2, 1, 3, 2, 10 }, 5)]
    [InlineData(new[] { 3, 5, 5, 9 }, 0)]
    [InlineData(new[] { 3, 5, 5, 9 }, 1)]
    public void Forward_MatchesDefinition_OnAnyRank(int[] dims, int groups)
    {
        var shape = new Shape(dims);
        var x = Make.Random(shape, 5);
        var expected = NaiveShuffle(x.ToDoubleArray(), shape[-1], groups);
        Assert.Equal(expected, Ops.ChannelShuffle(x, groups).ToDoubleArray());
    }

    [Theory]
    [InlineData(1, 1, 6, 2)]
    [InlineData(3, 5, 9, 3)]
    [InlineData(3, 5, 10, 5)]
    public void Backward_IsTheInversePermutation_AndAccumulates(int n, int hw, int channels, int groups)
    {
        var x = Make.SmallIntegers([n, hw, hw, channels], 1);
        var dy = Make.SmallIntegers([n, hw, hw, channels], 2);
        var dx = Make.SmallIntegers([n, hw, hw, channels], 3);
        var before = dx.ToFloatArray();
        CpuBackend.Instance.ChannelShuffleBackward(dy, dx, groups);

        // dx += P(C/G)·dy, the inverse permutation by the definition, added to what was there.
        var inverse = NaiveShuffle(dy.ToDoubleArray(), channels, channels / groups);
        var expected = new float[before.Length];
        for (int i = 0; i < expected.Length; i++) expected[i] = before[i] + (float)inverse[i];
        Assert.Equal(expected, dx.ToFloatArray());
    }

    [Theory]
    [InlineData(1, 1, 6, 2)]
    [InlineData(3, 5, 9, 3)]
    [InlineData(3, 1, 12, 4)]
    public void Gradient_MatchesFiniteDifferences(int n, int hw, int channels, int groups)
    {
        var x = Make.Random([n, hw, hw, channels], 7);
        // Through a ReLU, so the gradient reaching the shuffle is not uniform.
        GradCheck.Check("channel_shuffle", () => Ops.Relu(Ops.ChannelShuffle(x, groups)), [x]);
    }

    [Fact]
    public void LargeTensor_ParallelPath_MatchesDefinition()
    {
        // 4096 rows of 24 channels: enough work that the kernel splits rows across threads.
        var x = Make.SmallIntegers([4, 32, 32, 24], 9, range: 100);
        var expected = NaiveShuffle(x.ToDoubleArray(), 24, 4);
        Assert.Equal(Array.ConvertAll(expected, v => (float)v), Ops.ChannelShuffle(x, 4).ToFloatArray());
    }

    [Fact]
    public void PermutationHelper_SourceAndDestinationAreInverse()
    {
        foreach (var (channels, groups) in new[] { (6, 2), (9, 3), (12, 4), (7, 1), (8, 8), (5, 0) })
        {
            var source = ChannelPermutation.SourceTable(channels, groups);
            var destination = ChannelPermutation.DestinationTable(channels, groups);
            var identity = new double[channels];
            for (int c = 0; c < channels; c++) identity[c] = c;
            // Shuffling the channel indices themselves gives, at each destination, its source.
            Assert.Equal(NaiveShuffle(identity, channels, groups), Array.ConvertAll(source, s => (double)s));
            for (int c = 0; c < channels; c++)
            {
                Assert.Equal(c, source[destination[c]]);
                Assert.Equal(c, destination[source[c]]);
            }
        }
    }

    // ---- argument checks ----------------------------------------------------------------------

    [Fact]
    public void Rejects_GroupsThatDoNotDivideChannels()
    {
        var x = Make.Random([2, 3, 3, 7], 1);
        var e = Assert.Throws<ArgumentException>(() => Ops.ChannelShuffle(x, 2));
        Assert.StartsWith("channel_shuffle:", e.Message);
        Assert.Contains("[2, 3, 3, 7]", e.Message);
    }

    [Fact]
    public void Rejects_NegativeGroups()
    {
        var x = Make.Random([2, 6], 1);
        var e = Assert.Throws<ArgumentException>(() => Ops.ChannelShuffle(x, -2));
        Assert.StartsWith("channel_shuffle:", e.Message);
        Assert.Contains("-2", e.Message);
    }

    [Fact]
    public void Rejects_Scalar()
    {
        var x = Tensor.FromArray(Make.Cpu, [1.0], Shape.Scalar);
        var e = Assert.Throws<ArgumentException>(() => Ops.ChannelShuffle(x, 1));
        Assert.StartsWith("channel_shuffle:", e.Message);
    }

    [Fact]
    public void Rejects_IntegerTensor()
    {
        var x = Tensor.FromArray(Make.Cpu, [1, 2, 3, 4], new Shape(4));
        var e = Assert.Throws<ArgumentException>(() => Ops.ChannelShuffle(x, 2));
        Assert.StartsWith("channel_shuffle:", e.Message);
        Assert.Contains("I32", e.Message);
    }
}
