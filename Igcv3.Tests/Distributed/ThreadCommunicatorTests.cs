using Igcv3.Engine;
using Igcv3.Engine.Distributed;
using Igcv3.Tests.Support;
using Xunit;

namespace Igcv3.Tests.Distributed;

public sealed class ThreadCommunicatorTests
{
    private static float[] Values(int rank, int count) => Enumerable.Range(0, count).Select(i => (float)Math.Sin(rank * 7.1 + i) * (1 + rank * 1000)).ToArray();

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void AllReduce_SumsInRankOrder_AndAveragesAndBroadcasts(int size)
    {
        var results = WorkerThreads.Run(size, c =>
        {
            Assert.Equal(size, c.Size);
            var sum = Tensor.FromArray(Make.Cpu, Values(c.Rank, 5), [5]);
            c.AllReduce(sum, ReduceOp.Sum);
            var mean = Tensor.FromArray(Make.Cpu, Values(c.Rank, 5), [5]);
            c.AllReduce(mean, ReduceOp.Average);
            var root = Tensor.FromArray(Make.Cpu, Values(c.Rank, 3), [3]);
            c.Broadcast(root, size - 1);
            c.Barrier();
            return (Sum: sum.ToFloatArray(), Mean: mean.ToFloatArray(), Root: root.ToFloatArray());
        });
        for (int i = 0; i < 5; i++)
        {
            double expected = 0;
            for (int r = 0; r < size; r++) expected += Values(r, 5)[i];
            Assert.All(results, x => Assert.Equal((float)expected, x.Sum[i]));
            Assert.All(results, x => Assert.Equal((float)(expected / size), x.Mean[i]));
        }
        Assert.All(results, x => Assert.Equal(Values(size - 1, 3), x.Root));
    }

    [Fact]
    public void AWorkerThatFails_StopsTheOthers_WithItsError()
    {
        var seen = new string?[3];
        var error = Assert.Throws<InvalidDataException>(() => WorkerThreads.Run<int>(3, c =>
        {
            var t = Tensor.FromArray(Make.Cpu, new float[4], [4]);
            c.AllReduce(t, ReduceOp.Sum);
            if (c.Rank == 1) throw new InvalidDataException("bad batch on rank 1");
            try
            {
                // The others enter the next collective, which rank 1 never joins.
                c.AllReduce(t, ReduceOp.Sum);
            }
            catch (CommunicatorAbortedException e)
            {
                seen[c.Rank] = e.Message;
                throw;
            }
            return 0;
        }, timeout: TimeSpan.FromMinutes(5)));
        Assert.Equal("bad batch on rank 1", error.Message);
        Assert.Contains("rank 1 failed: InvalidDataException: bad batch on rank 1", seen[0]);
        Assert.Contains("rank 1 failed", seen[2]);
    }

    [Fact]
    public void ARankThatNeverComes_TimesOut_NamingIt()
    {
        var error = Assert.Throws<CommunicatorAbortedException>(() => WorkerThreads.Run<int>(2, c =>
        {
            if (c.Rank == 0) c.Barrier(); // rank 1 returns without joining
            return 0;
        }, timeout: TimeSpan.FromMilliseconds(200)));
        Assert.Contains("for rank(s) 1, which never came", error.Message);
    }

    [Fact]
    public void DifferentCollectivesAtOnce_FailOnEveryRank_InsteadOfMixingBuffers()
    {
        var error = Assert.Throws<CommunicatorAbortedException>(() => WorkerThreads.Run<int>(2, c =>
        {
            var t = Tensor.FromArray(Make.Cpu, new float[c.Rank + 1], [c.Rank + 1]);
            c.AllReduce(t, ReduceOp.Sum);
            return 0;
        }));
        Assert.Contains("called different collectives", error.Message);
    }
}
