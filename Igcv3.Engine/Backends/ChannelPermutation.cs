namespace Igcv3.Engine;

/// <summary>
/// The IGC permutation P(G) over C channels (IGC "interleave", ShuffleNet's channel shuffle):
/// view the channels as a [G, C/G] matrix, transpose it to [C/G, G], read it back row by row:
///
///     out[j*G + g] = in[g*(C/G) + j]      for g in [0, G), j in [0, C/G)
///
/// so destination channel d = j*G + g reads source channel (d mod G)·(C/G) + ⌊d / G⌋.
/// Its inverse is P(C/G) (transposing the [C/G, G] matrix back). A group count of 0 or 1 (and
/// G = C, whose matrix is a single row) is the identity. This is the one place the formula is
/// written: the fused grouped 1x1 convolution and the explicit permutation op both use it.
/// </summary>
public static class ChannelPermutation
{
    /// <summary>The source channel that P(groups) puts at <paramref name="destination"/>:
    /// (d mod G)·(C/G) + ⌊d / G⌋. Groups 0 or 1 mean no permutation.</summary>
    public static int Source(int destination, int channels, int groups)
    {
        if (groups <= 1) return destination;
        int perGroup = channels / groups;
        return destination % groups * perGroup + destination / groups;
    }

    /// <summary>The destination channel that P(groups) moves <paramref name="source"/> to: the
    /// inverse map, which is P(C/G)'s source map.</summary>
    public static int Destination(int source, int channels, int groups) =>
        groups <= 1 ? source : Source(source, channels, channels / groups);

    /// <summary>table[d] = <see cref="Source"/>(d): kernels look channels up here instead of
    /// dividing in their inner loops.</summary>
    public static int[] SourceTable(int channels, int groups)
    {
        var table = new int[channels];
        for (int d = 0; d < channels; d++) table[d] = Source(d, channels, groups);
        return table;
    }

    /// <summary>table[s] = <see cref="Destination"/>(s), the inverse of <see cref="SourceTable"/>.</summary>
    public static int[] DestinationTable(int channels, int groups)
    {
        var table = new int[channels];
        for (int s = 0; s < channels; s++) table[s] = Destination(s, channels, groups);
        return table;
    }

    /// <summary>Whether P(groups) moves any channel: false for groups 0 or 1 and for groups = C.</summary>
    public static bool IsIdentity(int channels, int groups) => groups <= 1 || groups >= channels;
}
