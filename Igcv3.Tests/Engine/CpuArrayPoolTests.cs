using Igcv3.Engine;
using Igcv3.Engine.Cpu;
using Igcv3.Engine.Nn;
using Igcv3.Networks;
using Xunit;

namespace Igcv3.Tests.Engine;

/// <summary>The CPU backend's caching pool: a scope's temporaries go back to it and the next
/// allocation of their size reuses them, zeroed, so training steps stop allocating after the first.</summary>
public class CpuArrayPoolTests
{
    [Fact]
    public void AReleasedArray_IsReusedZeroed_AndItsOldStorageCannotBeRead()
    {
        var backend = new CpuBackend();
        Tensor released;
        using (TensorScope.Begin())
        {
            released = Tensor.Zeros(backend, [1000]);
            backend.Fill(released, 7);
        }
        var reused = Tensor.Zeros(backend, [1000]);
        Assert.Equal((2L, 1L), (backend.MemoryStatistics.Rents, backend.MemoryStatistics.CacheHits));
        Assert.All(reused.ToFloatArray(), v => Assert.Equal(0f, v));
        Assert.Throws<ObjectDisposedException>(() => released.ToFloatArray());
        Assert.Equal(4000, backend.MemoryStatistics.BytesInUse);
    }

    [Fact]
    public void AnAllocation_TakesTheSmallestCachedArrayUpToTwiceItsLength()
    {
        var pool = new CpuArrayPool();
        float[] small = pool.Rent<float>(500), large = pool.Rent<float>(1000);
        large.AsSpan().Fill(7);
        pool.Return(small);
        pool.Return(large);
        Assert.Same(small, pool.Rent<float>(450));
        float[] reused = pool.Rent<float>(600);
        Assert.Same(large, reused);
        Assert.All(reused.AsSpan(0, 600).ToArray(), v => Assert.Equal(0f, v)); // the part a storage of 600 sees
        pool.Return(reused);
        Assert.NotSame(large, pool.Rent<float>(400)); // 1000 is more than twice 400: a new array
        Assert.Equal((3600L, 4000L), (pool.Statistics.BytesInUse, pool.Statistics.BytesCached)); // 500 + 400 floats in use, the 1000 cached
    }

    [Fact]
    public void TrainingSteps_AfterTheFirst_AllocateNothingNew()
    {
        var backend = new CpuBackend();
        var network = NetworkRegistry.Create("resnet", new NetworkOptions { Depth = 8, Width = 8 });
        var parameters = ParameterSet.Create(network, backend, seed: 1);
        var sgd = new Sgd(parameters, momentum: 0.9);
        var random = new Random(3);
        float[] images = [.. Enumerable.Range(0, 8 * 32 * 32 * 3).Select(_ => (float)random.NextDouble())];
        int[] labels = [.. Enumerable.Range(0, 8).Select(i => i % 10)];

        void Step()
        {
            using var scope = TensorScope.Begin();
            var x = Tensor.FromArray(backend, images, network.InputShape(8));
            var loss = Ops.SoftmaxCrossEntropy(network.Forward(x), Tensor.FromArray(backend, labels, [8]));
            parameters.ZeroGrad();
            loss.Backward();
            sgd.Step(0.1);
        }

        Step();
        var first = backend.MemoryStatistics;
        Step();
        Step();
        var third = backend.MemoryStatistics;
        Assert.Equal(first.BytesInUse + first.BytesCached, third.BytesInUse + third.BytesCached);
        Assert.Equal(first.BytesInUse, third.BytesInUse); // every temporary went back
        Assert.Equal(third.Rents - first.Rents, third.CacheHits - first.CacheHits);
        Assert.True(third.PeakBytesInUse > 2 * first.BytesInUse, "a step's temporaries should outweigh the parameters of a tiny network");
    }
}
