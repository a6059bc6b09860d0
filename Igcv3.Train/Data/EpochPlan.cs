namespace Igcv3.Train.Data;

/// <summary>
/// Everything random about one epoch, drawn up front from (seed, epoch) alone: the order in which
/// images are visited and each visit's augmentation. Because nothing is drawn while batches are
/// built, the batches do not depend on thread timing, and a run resumed at epoch e reproduces
/// epoch e exactly.
/// </summary>
public sealed class EpochPlan
{
    private EpochPlan(int[] order, SampleTransform[] transforms)
    {
        Order = order;
        Transforms = transforms;
    }

    /// <summary>Dataset index of each position in the epoch, [count].</summary>
    public int[] Order { get; }

    /// <summary>Augmentation of each position in the epoch, [count].</summary>
    public SampleTransform[] Transforms { get; }

    public static EpochPlan Create(int count, int seed, int epoch, bool shuffle, Augmentation augmentation)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var order = new int[count];
        for (int i = 0; i < count; i++) order[i] = i;
        if (shuffle)
        {
            // Fisher-Yates, written out so that the order is fixed by this code, not by a library.
            var random = RandomFor(seed, epoch, Stream.Order);
            for (int i = count - 1; i > 0; i--)
            {
                int j = random.Next(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
        }

        var transforms = new SampleTransform[count];
        if (!augmentation.IsIdentity)
        {
            // A separate stream from the order's, so that switching augmentation on or off does not change the order.
            var random = RandomFor(seed, epoch, Stream.Augmentation);
            for (int i = 0; i < count; i++) transforms[i] = augmentation.Draw(random);
        }
        return new EpochPlan(order, transforms);
    }

    private enum Stream { Order = 1, Augmentation = 2 }

    /// <summary>
    /// A Random seeded by mixing (seed, epoch, stream) through SplitMix64's finaliser, so that
    /// neighbouring epochs and seeds get unrelated streams. Random(int) is .NET's seeded
    /// generator, whose sequence the runtime has kept unchanged for compatibility; a resume on the
    /// same build is exact, and one across .NET major versions would be exact only while that holds.
    /// </summary>
    internal static Random RandomFor(int seed, int epoch, int stream) => new(MixToInt(seed, epoch, stream));

    private static Random RandomFor(int seed, int epoch, Stream stream) => RandomFor(seed, epoch, (int)stream);

    internal static int MixToInt(int seed, int epoch, int stream)
    {
        ulong z = unchecked((ulong)(uint)seed * 0x9E3779B97F4A7C15UL + (ulong)(uint)epoch * 0xBF58476D1CE4E5B9UL + (ulong)(uint)stream * 0x94D049BB133111EBUL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return (int)(z & 0x7FFFFFFF);
    }
}
