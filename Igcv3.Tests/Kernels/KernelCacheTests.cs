using Igcv3.Kernels.Compilation;
using Igcv3.Tests.Support;
using Xunit;

namespace Igcv3.Tests.Kernels;

/// <summary>The disk cache of compiled kernels: hits, keys, and recovery from corrupt entries.
/// Each test works in its own temporary folder.</summary>
public sealed class KernelCacheTests : IDisposable
{
    readonly DirectoryInfo folder = Directory.CreateTempSubdirectory("igcv3-kernel-cache-");

    public void Dispose() => folder.Delete(recursive: true);

    static readonly GpuArchitecture Sm80 = new(8, 0);

    [Fact]
    public void SecondCompile_HitsTheCache_WithTheSameImageAndLog()
    {
        var compiler = CudaRequirements.CompilerOrSkip(new KernelCache(folder.FullName));
        var first = compiler.Compile("smoke.cu", Sm80);
        var second = compiler.Compile("smoke.cu", Sm80);

        Assert.False(first.FromCache);
        Assert.True(second.FromCache);
        Assert.Equal(first.Image, second.Image);
        Assert.Equal(first.Log, second.Log);
        Assert.Single(folder.GetFiles("*.kernel"));
        Assert.Empty(folder.GetFiles("*.tmp"));
    }

    [Fact]
    public void CorruptedEntry_IsIgnoredAndRebuilt()
    {
        var cache = new KernelCache(folder.FullName);
        var compiler = CudaRequirements.CompilerOrSkip(cache);
        var original = compiler.Compile("smoke.cu", Sm80);
        var entry = Assert.Single(folder.GetFiles("*.kernel"));

        // Flip one byte in the middle of the stored CUBIN: the checksum no longer matches.
        var bytes = File.ReadAllBytes(entry.FullName);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(entry.FullName, bytes);
        var rebuilt = compiler.Compile("smoke.cu", Sm80);
        Assert.False(rebuilt.FromCache);
        Assert.Equal(original.Image, rebuilt.Image);

        // Truncated to half: also rebuilt. The rebuilt entry is then good again.
        File.WriteAllBytes(entry.FullName, bytes[..(bytes.Length / 2)]);
        Assert.False(compiler.Compile("smoke.cu", Sm80).FromCache);
        Assert.True(compiler.Compile("smoke.cu", Sm80).FromCache);
    }

    [Fact]
    public void DifferentArchitectureOrOptions_AreDifferentEntries()
    {
        var compiler = CudaRequirements.CompilerOrSkip(new KernelCache(folder.FullName));
        var unit = EmbeddedKernelSources.Unit("smoke.cu");
        compiler.Compile(unit, Sm80);
        Assert.False(compiler.Compile(unit, new GpuArchitecture(8, 6)).FromCache);
        Assert.False(compiler.Compile(unit, Sm80, ["--maxrregcount=64"]).FromCache);
        Assert.Equal(3, folder.GetFiles("*.kernel").Length);
    }

    [Fact]
    public void Key_ChangesWithEveryInput_AndNotOtherwise()
    {
        var unit = new KernelSource("a.cu", "extern \"C\" __global__ void k() {}");
        KernelSource[] headers = [new("igc_common.cuh", "#pragma once")];
        string[] options = ["--gpu-architecture=sm_80"];
        var key = KernelCache.Key(unit, headers, "sm_80", options, (11, 8));

        Assert.Equal(key, KernelCache.Key(unit with { }, [headers[0] with { }], "sm_80", [.. options], (11, 8)));
        Assert.NotEqual(key, KernelCache.Key(unit with { Text = unit.Text + " " }, headers, "sm_80", options, (11, 8)));
        Assert.NotEqual(key, KernelCache.Key(unit with { Name = "b.cu" }, headers, "sm_80", options, (11, 8)));
        Assert.NotEqual(key, KernelCache.Key(unit, [headers[0] with { Text = "#pragma once\n" }], "sm_80", options, (11, 8)));
        Assert.NotEqual(key, KernelCache.Key(unit, [], "sm_80", options, (11, 8)));
        Assert.NotEqual(key, KernelCache.Key(unit, headers, "sm_86", options, (11, 8)));
        Assert.NotEqual(key, KernelCache.Key(unit, headers, "sm_80", [.. options, "-lineinfo"], (11, 8)));
        Assert.NotEqual(key, KernelCache.Key(unit, headers, "sm_80", options, (12, 4)));
        Assert.Matches("^[0-9a-f]{64}$", key);
    }

    [Fact]
    public void EntryWritten_ThenRead_RoundTrips_WithoutNvrtc()
    {
        var cache = new KernelCache(Path.Combine(folder.FullName, "nested", "folder"));
        byte[] image = [1, 2, 3, 250, 0, 7];
        cache.Write("k", ImageKind.Ptx, image, "ptxas info    : Used 3 registers ✓");

        Assert.True(cache.TryRead("k", out var kind, out var read, out var log));
        Assert.Equal(ImageKind.Ptx, kind);
        Assert.Equal(image, read);
        Assert.Equal("ptxas info    : Used 3 registers ✓", log);
        Assert.False(cache.TryRead("absent", out _, out _, out _));
    }

    [Fact]
    public void GarbageEntry_IsRejectedAndDeleted()
    {
        var cache = new KernelCache(folder.FullName);
        File.WriteAllText(cache.PathFor("k"), "not a cache entry, but long enough to look like one at first sight");
        Assert.False(cache.TryRead("k", out _, out _, out _));
        Assert.False(File.Exists(cache.PathFor("k")));
    }
}
