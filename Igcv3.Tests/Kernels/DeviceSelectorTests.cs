using Igcv3.Engine;
using Igcv3.Engine.Cpu;
using Igcv3.Kernels;
using Igcv3.Kernels.Cuda;
using Xunit;

namespace Igcv3.Tests.Kernels;

/// <summary>The selector on this machine, whichever it is: each test checks the branch that the
/// machine's own CudaDevice.TryOpen outcome calls for. Those whose GPU branch starts a real device
/// are tagged device=gpu, so that the GPU session runs them.</summary>
public class DeviceSelectorTests
{
    [Theory]
    [InlineData("cpu")]
    [InlineData(" CPU ")]
    public void Cpu_SelectsTheCpuBackend(string device)
    {
        var selection = DeviceSelector.Select(device);
        Assert.Same(CpuBackend.Instance, selection.Backend);
        Assert.Equal("cpu (requested)", selection.Description);
    }

    [Fact]
    [Trait("device", "gpu")]
    public void Auto_WithBackendFactory_UsesItExactlyWhenADeviceOpens()
    {
        CudaDevice? given = null;
        var selection = DeviceSelector.Select("auto", device => { given = device; return CpuBackend.Instance; });
        bool gpu = CudaDevice.TryOpen(out var probe, out var reason);
        probe?.Dispose();
        if (gpu)
        {
            Assert.NotNull(given);
            Assert.Equal(0, given!.Ordinal);
            Assert.Contains(given.Name, selection.Description);
            given.Dispose();
        }
        else
        {
            Assert.Null(given);
            Assert.Equal($"cpu ({reason})", selection.Description);
        }
    }

    [Fact]
    public void Cuda_WithoutDevice_ThrowsWithTheReason()
    {
        if (CudaDevice.TryOpen(out var device, out var reason))
        {
            device!.Dispose();
            Assert.Skip("a CUDA device opens on this machine");
        }
        IBackend Factory(CudaDevice d) => throw new InvalidOperationException("the factory must not be called without a device");
        var e = Assert.Throws<InvalidOperationException>(() => DeviceSelector.Select("cuda:0", Factory));
        Assert.Equal($"cuda:0: {reason}", e.Message);
    }

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:x")]
    [InlineData("cuda:-1")]
    [InlineData("")]
    public void UnknownDevice_ThrowsNamingIt(string device)
    {
        var e = Assert.Throws<ArgumentException>(() => DeviceSelector.Select(device, _ => CpuBackend.Instance));
        Assert.Contains($"'{device}'", e.Message);
    }

    [Fact]
    [Trait("device", "gpu")]
    public void Auto_WithTheEngineBackend_PicksCudaExactlyWhenItStarts()
    {
        var selection = DeviceSelector.Select("auto");
        if (CudaBackend.TryCreate(out var probe, out var reason))
        {
            probe!.Dispose();
            using var backend = Assert.IsType<CudaBackend>(selection.Backend);
            Assert.StartsWith("cuda:0 (", backend.Name);
        }
        else
        {
            Assert.Same(CpuBackend.Instance, selection.Backend);
            Assert.StartsWith("cpu (", selection.Description);
        }
    }

    [Fact]
    [Trait("device", "gpu")]
    public void Cuda_WithTheEngineBackend_StartsItOrThrowsWithTheReason()
    {
        if (!CudaDevice.TryOpen(out var device, out var reason))
        {
            var e = Assert.Throws<InvalidOperationException>(() => DeviceSelector.Select("cuda"));
            Assert.Equal($"cuda:0: {reason}", e.Message);
            return;
        }
        device!.Dispose();
        var selection = DeviceSelector.Select("cuda");
        using var backend = Assert.IsType<CudaBackend>(selection.Backend);
        Assert.Contains(backend.Device.Name, selection.Description);
    }

    [Fact]
    public void Emulated_SelectsTheCudaBackendOnTheEmulatedDevice_OrSaysWhyNot()
    {
        if (!CudaBackend.TryCreateEmulated(out var probe, out var reason))
        {
            Assert.Throws<NotSupportedException>(() => DeviceSelector.Select("emulated"));
            Assert.Skip($"no emulated device here: {reason}");
        }
        probe!.Dispose();
        var selection = DeviceSelector.Select(" Emulated ");
        using var backend = Assert.IsType<CudaBackend>(selection.Backend);
        Assert.StartsWith("cuda:emulated", selection.Description);
    }
}
