using System.Text.RegularExpressions;
using Igcv3.Engine;
using Igcv3.Kernels;
using Igcv3.Kernels.Compilation;
using Igcv3.Kernels.Cuda;
using Igcv3.Tests.Support;
using Xunit;

namespace Igcv3.Tests.Kernels;

/// <summary>
/// What of the CUDA backend can be checked without a GPU: every kernel it launches exists, with the
/// parameter list the launcher passes (read from the PTX that NVRTC emits for the embedded
/// sources); the caching allocator's bookkeeping against a fake driver; the launch arithmetic.
/// </summary>
public sealed partial class CudaBackendOfflineTests
{
    [GeneratedRegex(@"\.entry\s+(\w+)\s*\(([^)]*)\)")]
    private static partial Regex Entry();

    [GeneratedRegex(@"\.param\s+\.(\w+)")]
    private static partial Regex Param();

    [Fact]
    public void EveryLaunchedKernel_ExistsWithTheDeclaredParameterKinds()
    {
        var compiler = CudaRequirements.CompilerOrSkip();
        // An architecture newer than any NVRTC knows yields PTX, whose .entry lines list the parameters.
        var ptxArchitecture = GpuArchitecture.FromNumber(compiler.SupportedArchitectures.Max() + 10);
        var problems = new List<string>();
        foreach (var unit in CudaKernels.Units)
        {
            var ptx = System.Text.Encoding.ASCII.GetString(compiler.Compile(unit, ptxArchitecture).Image);
            var entries = Entry().Matches(ptx).ToDictionary(m => m.Groups[1].Value,
                m => Param().Matches(m.Groups[2].Value).Select(p => p.Groups[1].Value).ToArray());
            foreach (var kernel in CudaKernels.All.Where(k => k.Unit == unit))
            {
                if (!entries.TryGetValue(kernel.Name, out var parameters))
                {
                    problems.Add($"{kernel}: no such entry in {unit}");
                    continue;
                }
                var expected = kernel.Parameters.Select(p => p switch { ArgKind.Pointer => "u64", ArgKind.Int32 => "u32", _ => "f32" }).ToArray();
                var actual = parameters.Select(p => p is "s32" or "b32" ? "u32" : p is "s64" or "b64" ? "u64" : p).ToArray();
                if (!expected.SequenceEqual(actual)) problems.Add($"{kernel}: PTX has ({string.Join(", ", actual)})");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        // elementwise 5, pointwise 3+3+9+2, pointwise_bf16 3+3+3, depthwise 3, conv2d 3+3+9, batchnorm 5, syncbn 3,
        // pooling 4, the rest 6: no split reduction (weight gradients, batch-norm sums) has a kernel of its own:
        // each finishes in its last block
        Assert.Equal(5 + 3 + 3 + 9 + 2 + 9 + 3 + 3 + 3 + 9 + 5 + 3 + 4 + 6, CudaKernels.All.Count);
    }

    /// <summary>A fake driver: hands out increasing addresses and records frees.</summary>
    private sealed class FakeDriver
    {
        public ulong Next = 0x1000;
        public readonly List<long> Allocated = [];
        public readonly List<ulong> Freed = [];
        public int Synchronized;
        public long Limit = long.MaxValue;
        private readonly Dictionary<ulong, long> _live = [];

        public CachingAllocator Allocator() => new(
            bytes =>
            {
                if (_live.Values.Sum() + bytes > Limit) throw new CudaException("cuMemAlloc_v2", 2, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory");
                Allocated.Add(bytes);
                ulong p = Next;
                Next += (ulong)bytes;
                _live[p] = bytes;
                return p;
            },
            p =>
            {
                Freed.Add(p);
                _live.Remove(p);
            },
            () => Synchronized++);
    }

    [Fact]
    public void Allocator_ReusesBlocksOfTheSameSizeClass_AndKeepsStatistics()
    {
        var driver = new FakeDriver();
        using var allocator = driver.Allocator();
        ulong a = allocator.Allocate(4000);
        ulong b = allocator.Allocate(100);
        Assert.Equal(new long[] { 4096, 512 }, driver.Allocated);
        var stats = allocator.Statistics;
        Assert.Equal(4096 + 512, stats.BytesInUse);
        Assert.Equal(4096 + 512, stats.BytesReserved);

        allocator.Release(a);
        Assert.Equal(512, allocator.Statistics.BytesInUse);
        Assert.Equal(4096 + 512, allocator.Statistics.PeakBytesInUse);
        ulong c = allocator.Allocate(3900); // same 4096 class: the cached block, no driver call
        Assert.Equal(a, c);
        Assert.Equal(2, driver.Allocated.Count);
        Assert.Equal(1, allocator.Statistics.CacheHits);
        ulong d = allocator.Allocate(5000); // another class: a new block
        Assert.NotEqual(a, d);

        allocator.Release(c);
        allocator.Release(b);
        Assert.Throws<InvalidOperationException>(() => allocator.Release(b));
        allocator.EmptyCache();
        Assert.Equal(1, driver.Synchronized);
        Assert.Equal(new[] { a, b }.Order(), driver.Freed.Order());
        Assert.Equal(CachingAllocator.RoundedSize(5000), allocator.Statistics.BytesReserved);
        allocator.ResetPeak();
        Assert.Equal(allocator.Statistics.BytesInUse, allocator.Statistics.PeakBytesInUse);
    }

    [Fact]
    public void Allocator_OnOutOfMemory_EmptiesTheCacheAndRetries()
    {
        var driver = new FakeDriver { Limit = 8192 };
        using var allocator = driver.Allocator();
        allocator.Release(allocator.Allocate(4096));
        allocator.Release(allocator.Allocate(2048));
        ulong big = allocator.Allocate(8192); // needs the cached 6 KiB back
        Assert.NotEqual(0ul, big);
        Assert.Equal(2, driver.Freed.Count);
    }

    [Fact]
    public void Allocator_AfterDispose_IgnoresReleases_AndFinalizerReleasesNeverThrow()
    {
        var driver = new FakeDriver();
        var allocator = driver.Allocator();
        ulong a = allocator.Allocate(10);
        allocator.ReleaseFromFinalizer(0xdead); // unknown: ignored, not thrown on the finalizer thread
        allocator.Dispose();
        Assert.Contains(a, driver.Freed);
        allocator.Release(a);
        allocator.ReleaseFromFinalizer(a);
    }

    [Theory]
    [InlineData(1, 512)]
    [InlineData(512, 512)]
    [InlineData(513, 1024)]
    [InlineData(1 << 20, 1 << 20)]
    [InlineData((1 << 20) + 1, (1 << 20) + (1 << 18))]
    [InlineData(3_000_000, 3_145_728)]
    public void RoundedSize_512BytesBelow1MiB_QuarterPowersAbove(long bytes, long expected)
    {
        Assert.Equal(expected, CachingAllocator.RoundedSize(bytes));
        Assert.True(CachingAllocator.RoundedSize(bytes) < bytes * 1.25 + 512);
    }

    [Theory]
    [InlineData(1, 1, 1, 132)]
    [InlineData(100, 4, 3, 132)]
    [InlineData(131072, 1, 1, 132)]
    [InlineData(131072, 1, 40000, 132)]
    [InlineData(50, 1000, 2, 8)]
    public void Splits_CoverEveryRow_InMultiplesOf16_WithinTheGridLimit(int rows, int tiles, int groups, int sms)
    {
        var (splits, rowsPerSplit) = GemmTiles.Splits(rows, tiles, groups, sms, 64);
        Assert.True(splits >= 1);
        Assert.Equal(0, rowsPerSplit % 16);
        Assert.True((long)splits * rowsPerSplit >= rows);
        Assert.True((long)(splits - 1) * rowsPerSplit < Math.Max(rows, 1), "no empty split");
        Assert.True((long)splits * groups <= 65535);
    }

    [Theory]
    [InlineData(1, 16)]
    [InlineData(16, 16)]
    [InlineData(17, 32)]
    [InlineData(32, 32)]
    [InlineData(33, 64)]
    [InlineData(1000, 64)]
    public void Tile_FollowsTheHeadersRule(int dimension, int tile) => Assert.Equal(tile, GemmTiles.Tile(dimension));

    /// <summary>Zeros costs a memset; a forward output (Tensor.Empty) does not, since its kernel
    /// writes every element. On the CPU both come zeroed.</summary>
    [Fact]
    public void ForwardOutputs_AreNotMemset_ButZeroedTensorsAre()
    {
        var queue = new RecordingQueue();
        using var gpu = queue.Backend();
        Tensor.Zeros(gpu, [3, 5]);
        Assert.Equal(1, queue.Memsets);
        Tensor.Empty(gpu, [3, 5]);
        var x = Tensor.Zeros(gpu, [2, 4, 4, 8]);
        int before = queue.Memsets;
        using (GradMode.NoGrad()) Ops.Activate(x, Activation.Relu6);
        Assert.Equal(before, queue.Memsets);

        Assert.All(Tensor.Empty(Igcv3.Engine.Cpu.CpuBackend.Instance, [7]).ToDoubleArray(), v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void TryCreate_WithoutAGpu_SaysWhy()
    {
        if (CudaDevice.TryOpen(out var device, out _))
        {
            device!.Dispose();
            Assert.Skip("a CUDA device opens on this machine");
        }
        Assert.False(CudaBackend.TryCreate(out var backend, out var reason));
        Assert.Null(backend);
        Assert.False(string.IsNullOrWhiteSpace(reason));
    }

    /// <summary>cuMemcpyDtoDAsync leaves overlapping ranges undefined: such a copy is refused,
    /// while disjoint views of one storage copy as they should.</summary>
    [Fact]
    public void Copy_BetweenOverlappingViews_IsRefused_DisjointViewsCopy()
    {
        var queue = new RecordingQueue();
        using var gpu = queue.Backend();
        var storage = gpu.Allocate(DType.F32, 12);
        var all = Tensor.View(storage, 0, new Shape(12));
        gpu.Upload<float>([.. Enumerable.Range(0, 12).Select(i => (float)i)], all);
        var e = Assert.Throws<ArgumentException>(() => gpu.Copy(Tensor.View(storage, 0, new Shape(6)), Tensor.View(storage, 2, new Shape(6))));
        Assert.Contains("overlap", e.Message);
        gpu.Copy(Tensor.View(storage, 0, new Shape(6)), Tensor.View(storage, 6, new Shape(6)));
        Assert.Equal([0f, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5], all.ToFloatArray());
    }
}
