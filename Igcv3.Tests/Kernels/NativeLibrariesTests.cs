using Igcv3.Kernels;
using Xunit;

namespace Igcv3.Tests.Kernels;

public sealed class NativeLibrariesTests : IDisposable
{
    readonly DirectoryInfo root = Directory.CreateTempSubdirectory("igcv3-probe-");

    public void Dispose() => root.Delete(recursive: true);

    [Fact]
    public void ProbeFolders_PutCudaPathFirst_FindPipWheelLibFolders_AndDropMissingFolders()
    {
        if (OperatingSystem.IsWindows()) Assert.Skip("the probe folders tested here are the Linux ones");
        var toolkit = root.CreateSubdirectory("toolkit/lib64");
        var wheel = root.CreateSubdirectory("venv/lib/python3.11/site-packages/nvidia/cuda_nvrtc/lib");
        var environment = new Dictionary<string, string>
        {
            ["CUDA_PATH"] = Path.Combine(root.FullName, "toolkit"),
            ["CUDA_HOME"] = Path.Combine(root.FullName, "no-such-toolkit"),
            ["VIRTUAL_ENV"] = Path.Combine(root.FullName, "venv"),
            ["HOME"] = Path.Combine(root.FullName, "home-without-python"),
        };

        var folders = LibraryProbeFolders.For(Interop.Libraries.Nvrtc, v => environment.GetValueOrDefault(v)).ToList();

        Assert.Equal(toolkit.FullName, folders[0]);
        Assert.Contains(wheel.FullName, folders);
        Assert.DoesNotContain(folders, f => f.Contains("no-such-toolkit"));
        Assert.All(folders, f => Assert.True(Directory.Exists(f), f));
    }

    [Theory]
    [InlineData("libnvrtc.so.13", 13)]
    [InlineData("libnvrtc.so.11.2", 11)]
    [InlineData("libcublas.so.12", 12)]
    [InlineData("libcublas.so", null)]
    [InlineData("nvrtc64_120_0.dll", 12)]
    [InlineData("nvrtc64_112_0.dll", 11)]
    [InlineData("cublas64_13.dll", 13)]
    [InlineData("nvcuda.dll", null)]
    public void MajorVersionOf_ReadsTheFileName(string name, int? major) => Assert.Equal(major, NativeLibraries.MajorVersionOf(name));

    /// <summary>A CUDA 12 driver: NVRTC and cuBLAS 13 are skipped (their CUBINs and kernels would not
    /// load on it); without a driver nothing is skipped (NVRTC compiles for any target offline).</summary>
    [Fact]
    public void CompatibleFileNames_SkipMajorVersionsNewerThanTheDriver()
    {
        var nvrtc = NativeLibraries.CandidateFileNames(Interop.Libraries.Nvrtc);
        var cublas = NativeLibraries.CandidateFileNames(Interop.Libraries.Cublas);
        Assert.DoesNotContain(NativeLibraries.CompatibleFileNames(nvrtc, 12), n => NativeLibraries.MajorVersionOf(n) > 12);
        Assert.Contains(NativeLibraries.CompatibleFileNames(nvrtc, 12), n => NativeLibraries.MajorVersionOf(n) == 12);
        Assert.Equal(cublas.Length - 1, NativeLibraries.CompatibleFileNames(cublas, 12).Length);
        Assert.Equal(nvrtc, NativeLibraries.CompatibleFileNames(nvrtc, null));
        Assert.Equal(nvrtc, NativeLibraries.CompatibleFileNames(nvrtc, 13));
    }

    /// <summary>A venv that no variable names (a GPU host's /opt/torch/.venv): found through the
    /// python3 on PATH, CUDA 13's nvidia/cu13/lib layout included.</summary>
    [Fact]
    public void ProbeFolders_FindTheWheelsOfThePython3OnPath()
    {
        if (OperatingSystem.IsWindows()) Assert.Skip("the probe folders tested here are the Linux ones");
        var bin = root.CreateSubdirectory("opt/torch/.venv/bin");
        File.WriteAllText(Path.Combine(bin.FullName, "python3"), "");
        var cu13 = root.CreateSubdirectory("opt/torch/.venv/lib/python3.12/site-packages/nvidia/cu13/lib");
        var elsewhere = root.CreateSubdirectory("other/bin"); // on PATH, but no python3 there
        root.CreateSubdirectory("other/lib/python3.12/site-packages/nvidia/cublas/lib");
        var environment = new Dictionary<string, string> { ["PATH"] = $"{elsewhere.FullName}:{bin.FullName}", ["HOME"] = "" };

        var folders = LibraryProbeFolders.For(Interop.Libraries.Nvrtc, v => environment.GetValueOrDefault(v)).ToList();

        Assert.Contains(cu13.FullName, folders);
        Assert.DoesNotContain(folders, f => f.StartsWith(Path.Combine(root.FullName, "other")));
    }

    [Fact]
    public void AvailabilityChecks_NeverThrow_AndAgreeWithTryLoad()
    {
        Assert.Equal(NativeLibraries.TryLoad(Interop.Libraries.CudaDriver, out _, out _), NativeLibraries.IsDriverAvailable);
        Assert.Equal(NativeLibraries.TryLoad(Interop.Libraries.Cublas, out _, out _), NativeLibraries.IsCublasAvailable);
        _ = NativeLibraries.IsNvrtcAvailable;
    }

    [Fact]
    public void MissingDriver_IsExplainedByTheFileName()
    {
        if (NativeLibraries.IsDriverAvailable) Assert.Skip("libcuda loads on this machine; the missing-driver message cannot be seen here");
        Assert.False(NativeLibraries.TryLoad(Interop.Libraries.CudaDriver, out var handle, out var reason));
        Assert.Equal(0, handle);
        Assert.StartsWith(OperatingSystem.IsWindows() ? "nvcuda.dll not found" : "libcuda.so.1 not found", reason);
        Assert.False(CudaDevice.TryOpen(out var device, out var openReason));
        Assert.Null(device);
        Assert.Equal($"no CUDA driver: {reason}", openReason);
    }

    [Fact]
    public void LoadedNvrtc_IsRecordedWithItsPath()
    {
        if (!NativeLibraries.IsNvrtcAvailable) Assert.Skip("NVRTC cannot be loaded on this machine");
        var entry = Assert.Single(NativeLibraries.LoadedLibraries, l => l.Library == Interop.Libraries.Nvrtc);
        Assert.Contains("nvrtc", entry.Path);
    }
}
