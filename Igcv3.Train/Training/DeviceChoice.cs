using Igcv3.Engine;
using Igcv3.Kernels;
using Igcv3.Train.Commands;

namespace Igcv3.Train.Training;

/// <summary>
/// --device → a backend, through <see cref="DeviceSelector"/> (the CUDA backend factory is
/// injectable so that tests can stand in for a GPU). Failures become a <see cref="DeviceException"/>
/// with the reason and what to do instead.
/// </summary>
public static class DeviceChoice
{
    public static DeviceSelection Select(string device, Func<CudaDevice, IBackend> cudaBackend)
    {
        bool cuda = device.Trim().StartsWith("cuda", StringComparison.OrdinalIgnoreCase);
        try
        {
            return DeviceSelector.Select(device, cudaBackend);
        }
        catch (Exception e) when (cuda && e is InvalidOperationException)
        {
            throw new DeviceException($"--device {device}: no usable GPU ({e.Message}); use --device cpu, or --device auto to fall back to the CPU", e);
        }
        catch (Exception e) when (cuda && DeviceSelector.IsBackendStartFailure(e))
        {
            throw new DeviceException($"--device {device}: a GPU was found, but the CUDA backend could not start ({e.Message}); install the CUDA toolkit's NVRTC and cuBLAS (or put their folder in CUDA_PATH), or use --device cpu", e);
        }
        catch (NotSupportedException e) when (device.Trim().Equals("emulated", StringComparison.OrdinalIgnoreCase))
        {
            throw new DeviceException($"--device emulated: {e.Message}; install g++ (Debian: apt-get install g++), or use --device cpu", e);
        }
    }
}
