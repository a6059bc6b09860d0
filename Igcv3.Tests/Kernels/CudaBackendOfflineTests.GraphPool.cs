using Igcv3.Kernels.Cuda;
using Xunit;

namespace Igcv3.Tests.Kernels;

// The caching allocator's graph pools: a captured graph's blocks are never handed to anyone else
// (nor freed to the driver) while the graph lives.
public sealed partial class CudaBackendOfflineTests
{
    [Fact]
    public void GraphPool_KeepsTheCapturesBlocks_FromLaterAllocations_UntilDisposed()
    {
        var driver = new FakeDriver();
        using var allocator = driver.Allocator();
        ulong before = allocator.Allocate(4096);   // live when the capture begins
        ulong cached = allocator.Allocate(4096);
        allocator.Release(cached);                 // in the cache: the capture may take it

        var pool = allocator.BeginCollecting();
        ulong taken = allocator.Allocate(4096);
        Assert.Equal(cached, taken);
        allocator.Release(taken);
        Assert.Equal(taken, allocator.Allocate(4096)); // reused inside the capture, as in an eager step
        allocator.Release(before);                     // released during the capture: the graph may read it
        allocator.EndCollecting();
        Assert.Equal(2, pool.Count);

        // After the capture neither block is handed out again, however often that size is asked for.
        var later = Enumerable.Range(0, 3).Select(_ => allocator.Allocate(4096)).ToList();
        Assert.DoesNotContain(before, later);
        Assert.DoesNotContain(taken, later);
        allocator.EmptyCache();
        Assert.DoesNotContain(before, driver.Freed);

        pool.Dispose();
        pool.Dispose();
        allocator.Release(taken); // in use when the pool went: back to the cache when released
        Assert.Contains(allocator.Allocate(4096), new[] { before, taken });
        Assert.Contains(allocator.Allocate(4096), new[] { before, taken });
    }

    [Fact]
    public void GraphPool_WithoutCaching_FreesItsReleasedBlocksOnlyWithThePool()
    {
        var driver = new FakeDriver();
        using var allocator = new CachingAllocator(bytes => { ulong p = driver.Next; driver.Next += (ulong)bytes; return p; }, driver.Freed.Add, () => { }, caching: false);
        var pool = allocator.BeginCollecting();
        ulong a = allocator.Allocate(100);
        allocator.Release(a);
        allocator.EndCollecting();
        Assert.Empty(driver.Freed); // the emulated device's guard pages would catch a replay touching it otherwise
        Assert.Equal(0, allocator.Statistics.BytesInUse);
        pool.Dispose();
        Assert.Equal([a], driver.Freed);
        Assert.Equal(0, allocator.Statistics.BytesReserved);
    }

    [Fact]
    public void GraphPool_OneCaptureAtATime()
    {
        using var allocator = new FakeDriver().Allocator();
        using var pool = allocator.BeginCollecting();
        Assert.Throws<InvalidOperationException>(() => allocator.BeginCollecting());
    }
}
