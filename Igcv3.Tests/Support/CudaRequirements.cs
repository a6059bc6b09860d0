using Igcv3.Kernels;
using Igcv3.Kernels.Compilation;
using Xunit;

namespace Igcv3.Tests.Support;

/// <summary>
/// Skips for tests that need NVRTC or a GPU, always with the reason. NVRTC needs no GPU, so the
/// compile tests run on every machine where it is installed; .ci/run installs it and sets
/// IGCV3_REQUIRE_NVRTC=1, which turns "NVRTC missing" from a skip into a failure there.
/// </summary>
internal static class CudaRequirements
{
    public const string NoGpu = "no CUDA driver/GPU on this machine";

    /// <summary>A compiler without disk cache, or a skip (a failure under IGCV3_REQUIRE_NVRTC=1).</summary>
    internal static KernelCompiler CompilerOrSkip(KernelCache? cache = null)
    {
        if (!Interop.Nvrtc.TryGetVersion(out _, out var reason))
        {
            var message = $"NVRTC cannot be loaded ({reason}); install it with .ci/install-nvrtc.sh";
            if (Environment.GetEnvironmentVariable("IGCV3_REQUIRE_NVRTC") == "1") Assert.Fail(message);
            Assert.Skip(message);
        }
        return new KernelCompiler(cache);
    }

    /// <summary>Device 0, or a skip saying why there is none.</summary>
    internal static CudaDevice DeviceOrSkip()
    {
        if (!CudaDevice.TryOpen(out var device, out var reason)) Assert.Skip($"{NoGpu} ({reason})");
        return device!;
    }
}
