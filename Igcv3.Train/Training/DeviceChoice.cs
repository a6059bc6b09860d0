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
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException && cuda)
        {
            throw new DeviceException($"--device {device}: no usable GPU ({e.Message}); use --device cpu, or --device auto to fall back to the CPU", e);
        }
    }
}
