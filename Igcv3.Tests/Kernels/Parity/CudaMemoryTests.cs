using Igcv3.Engine;
using Igcv3.Engine.Nn;
using Igcv3.Kernels.Cuda;
using Igcv3.Networks;
using Xunit;

namespace Igcv3.Tests.Kernels.Parity;

/// <summary>The caching allocator and tensor scopes on a real GPU, and the refusal of F64.</summary>
[Collection(CudaCollection.Name), Trait("device", "gpu")]
public sealed class CudaMemoryTests(CudaFixture fixture)
{
    /// <summary>Earlier tests leave undisposed GPU tensors whose finalizers return memory at
    /// arbitrary times; collect them first so that the statistics move only with this test.</summary>
    private static void CollectEarlierGarbage()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    [Fact]
    public void ReleasedBlock_IsReusedForTheSameSizeClass_WithoutTheDriver()
    {
        var gpu = fixture.BackendOrSkip();
        CollectEarlierGarbage();
        var before = gpu.MemoryStatistics;
        var a = Tensor.Zeros(gpu, [1000]);
        var afterFirst = gpu.MemoryStatistics;
        Assert.Equal(before.BytesInUse + CachingAllocator.RoundedSize(4000), afterFirst.BytesInUse);
        Assert.True(afterFirst.PeakBytesInUse >= afterFirst.BytesInUse);
        a.Storage.Dispose();
        Assert.Equal(before.BytesInUse, gpu.MemoryStatistics.BytesInUse);

        var b = Tensor.Zeros(gpu, [1001]); // 4004 bytes: the same 4096-byte class
        var afterSecond = gpu.MemoryStatistics;
        Assert.Equal(afterFirst.DriverAllocations, afterSecond.DriverAllocations);
        Assert.Equal(afterFirst.CacheHits + 1, afterSecond.CacheHits);
        Assert.All(b.ToFloatArray(), v => Assert.Equal(0f, v)); // a reused block is zeroed again
        b.Storage.Dispose();

        gpu.EmptyCache();
        var emptied = gpu.MemoryStatistics;
        Assert.True(emptied.BytesReserved <= afterSecond.BytesReserved - CachingAllocator.RoundedSize(4000));
        Assert.Equal(before.BytesInUse, emptied.BytesInUse);
    }

    [Fact]
    public void TrainingStepInsideAScope_ReturnsAllItsMemory()
    {
        var gpu = fixture.BackendOrSkip();
        var net = NetworkRegistry.Create("igcv3-d", new NetworkOptions { WidthMultiplier = 0.25, Classes = 10 });
        var parameters = ParameterSet.Create(net, gpu, seed: 5);
        var sgd = new Sgd(parameters);
        var x = Tensor.RandomUniform(gpu, [2, 16, 16, 3], new Random(6));
        var labels = Tensor.FromArray(gpu, new[] { 1, 7 }, [2]);
        CollectEarlierGarbage();
        long baseline = gpu.MemoryStatistics.BytesInUse;
        for (int step = 0; step < 2; step++)
        {
            double loss;
            using (TensorScope.Begin())
            {
                parameters.ZeroGrad();
                var l = Ops.SoftmaxCrossEntropy(net.Forward(x), labels);
                l.Backward();
                sgd.Step(0.01);
                loss = l.Item();
            }
            Assert.True(double.IsFinite(loss), $"step {step}: loss {loss}");
            Assert.Equal(baseline, gpu.MemoryStatistics.BytesInUse);
        }
        Assert.True(gpu.MemoryStatistics.PeakBytesInUse > baseline);
    }

    /// <summary>Uploads go through the pinned ring (PinnedStaging): many more than it has slots,
    /// of growing sizes and one above its limit (copied from pageable memory), each from the same
    /// host buffer rewritten at once, with a kernel between them so the stream runs behind the host.</summary>
    [Fact]
    public void Uploads_ArriveIntact_ThroughThePinnedRing_ThoughTheHostRewritesItsBuffer()
    {
        var gpu = fixture.BackendOrSkip();
        var random = new Random(11);
        int[] lengths = [.. Enumerable.Range(0, 3 * PinnedStaging.DefaultSlots).Select(i => 1 + random.Next(1 << (8 + i % 12))),
            (int)(PinnedStaging.DefaultLargestStaged / sizeof(float)) + 5];
        var host = new float[lengths.Max()];
        var expected = new List<float[]>();
        var tensors = new List<Tensor>();
        var busy = Tensor.Zeros(gpu, [1 << 22]);
        foreach (int length in lengths)
        {
            var values = Enumerable.Range(0, length).Select(_ => (float)random.NextDouble()).ToArray();
            values.CopyTo(host, 0);
            var t = Tensor.Empty(gpu, [length]);
            gpu.Upload<float>(host.AsSpan(0, length), t);
            Array.Fill(host, float.NaN);
            gpu.Fill(busy, 1); // more work queued behind the copy
            expected.Add(values);
            tensors.Add(t);
        }
        for (int i = 0; i < lengths.Length; i++)
        {
            Assert.True(expected[i].AsSpan().SequenceEqual(tensors[i].ToFloatArray()), $"upload {i} of {lengths[i]} floats arrived changed");
        }
    }

    [Fact]
    public void F64_IsRefusedWithTheReason()
    {
        var gpu = fixture.BackendOrSkip();
        var e = Assert.Throws<NotSupportedException>(() => gpu.Allocate(DType.F64, 4));
        Assert.Contains("the CUDA backend computes in F32; F64 exists for CPU gradient checks", e.Message);
    }

    [Fact]
    public void Name_SaysDeviceAndArchitecture()
    {
        var gpu = fixture.BackendOrSkip();
        Assert.Matches(@"^cuda:0 \(.+, sm_\d+\)$", gpu.Name);
    }
}
