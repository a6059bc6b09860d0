using Igcv3.Train.Data;
using Xunit;

namespace Igcv3.Tests.Train;

public sealed class EpochPlanShardTests
{
    [Theory]
    [InlineData(100, 4)]
    [InlineData(103, 4)] // not divisible: the last 3 positions of the shuffled order are dropped
    [InlineData(7, 3)]
    public void Shards_AreDisjoint_EqualInSize_AndCoverAllButTheRemainder(int count, int world)
    {
        var plan = EpochPlan.Create(count, seed: 5, epoch: 2, shuffle: true, Augmentation.PadCropFlip());
        var shards = Enumerable.Range(0, world).Select(r => plan.Shard(r, world)).ToArray();

        Assert.All(shards, s => Assert.Equal(count / world, s.Order.Length));
        Assert.All(shards, s => Assert.Equal(s.Order.Length, s.Transforms.Length));
        var seen = shards.SelectMany(s => s.Order).ToArray();
        Assert.Equal(seen.Length, seen.Distinct().Count());
        Assert.Equal(plan.Order.Take(count / world * world).Order(), seen.Order());
    }

    [Fact]
    public void BatchK_OverAllRanks_IsBatchK_OfOneRankWithTheWFoldBatch()
    {
        // The property the data-parallel step relies on: W workers at batch b see the images (and
        // the transforms) of one worker at batch W*b, step for step.
        const int world = 4, b = 3;
        var plan = EpochPlan.Create(60, seed: 9, epoch: 1, shuffle: true, Augmentation.PadCropFlip());
        var shards = Enumerable.Range(0, world).Select(r => plan.Shard(r, world)).ToArray();
        for (int k = 0; k < 60 / (world * b); k++)
        {
            var union = shards.SelectMany(s => s.Order.Skip(k * b).Take(b).Zip(s.Transforms.Skip(k * b).Take(b))).OrderBy(p => p.First);
            var single = plan.Order.Skip(k * world * b).Take(world * b).Zip(plan.Transforms.Skip(k * world * b).Take(world * b)).OrderBy(p => p.First);
            Assert.Equal(single, union);
        }
    }

    [Fact]
    public void OneRank_IsThePlan_AndBadRanksThrow()
    {
        var plan = EpochPlan.Create(10, seed: 1, epoch: 0, shuffle: true, Augmentation.None);
        Assert.Equal(plan.Order, plan.Shard(0, 1).Order);
        Assert.Throws<ArgumentOutOfRangeException>(() => plan.Shard(2, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => plan.Shard(-1, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => plan.Shard(0, 0));
    }
}
