namespace Igcv3.Train.Data;

/// <summary>
/// Everything random about one epoch, drawn up front from (seed, epoch) alone: the order in which
/// images are visited and each visit's augmentation. Because nothing is drawn while batches are
/// built, the batches do not depend on thread timing, and a run resumed at epoch e reproduces
/// epoch e exactly.
/// <para>Data-parallel training: every rank builds the same plan and takes its <see cref="Shard"/>.</para>
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

    /// <summary>A loader's share of every epoch, (0, 1) when it has none, checked to be a rank of its world.</summary>
    public static (int Rank, int World) CheckShard((int Rank, int World)? shard, string loader)
    {
        var s = shard ?? (0, 1);
        if (s.World <= 0 || s.Rank < 0 || s.Rank >= s.World)
            throw new ArgumentOutOfRangeException(nameof(shard), $"{loader}: rank {s.Rank} of a world of {s.World} does not exist");
        return s;
    }

    /// <summary>
    /// The share of rank <paramref name="rank"/> of <paramref name="worldSize"/>: positions
    /// rank, rank + W, rank + 2W, ... of this plan (interleaved, as torch's DistributedSampler), with
    /// each position's transform as drawn for the whole epoch. Interleaving makes batch k of a
    /// per-rank batch size b, over all ranks, exactly batch k of one rank at batch size W·b, so
    /// W workers step on the same images as one worker with the W-fold batch.
    /// A count not divisible by W drops the last count mod W positions of the shuffled order (the
    /// DistributedSampler's drop_last rule, not its padding by repetition): every rank gets
    /// count / W positions, no image is seen twice in an epoch, and which ones are left out changes
    /// with the epoch's shuffle. Training drops the last partial batch anyway, so with W·b
    /// dividing nothing changes; evaluation does not shard (rank 0 evaluates the whole test set).
    /// </summary>
    public EpochPlan Shard(int rank, int worldSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(worldSize);
        if (rank < 0 || rank >= worldSize) throw new ArgumentOutOfRangeException(nameof(rank), $"epoch plan: rank {rank} is outside [0, {worldSize - 1}]");
        if (worldSize == 1) return this;
        int share = Order.Length / worldSize;
        var order = new int[share];
        var transforms = new SampleTransform[share];
        for (int i = 0; i < share; i++)
        {
            order[i] = Order[i * worldSize + rank];
            transforms[i] = Transforms[i * worldSize + rank];
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
