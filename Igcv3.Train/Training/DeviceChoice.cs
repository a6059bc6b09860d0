using Igcv3.Engine;
using Igcv3.Kernels;
using Igcv3.Train.Commands;

namespace Igcv3.Train.Training;

/// <summary>
/// --device → a backend, through <see cref="DeviceSelector"/>; the CUDA backend is injected (it
/// lives on another branch), so "auto" and "cuda" start working as soon as a factory is given.
/// Failures become a <see cref="DeviceException"/> with the reason and what to do instead.
/// </summary>
public static class DeviceChoice
{
    public static DeviceSelection Select(string device, Func<CudaDevice, IBackend>? cudaBackend)
    {
        string choice = device.Trim().ToLowerInvariant();
        bool cuda = choice.StartsWith("cuda", StringComparison.Ordinal);
        if (cuda && cudaBackend is null)
        {
            // Say first whether there is a GPU at all: that is what the user can act on.
            int ordinal = choice.Length > 5 && int.TryParse(choice[5..], out int n) ? n : 0;
            if (!CudaDevice.TryOpen(out var found, out string reason, ordinal))
                throw new DeviceException($"--device {device}: no usable GPU ({reason}); use --device cpu, or --device auto to fall back to the CPU");
            found!.Dispose();
            throw new DeviceException($"--device {device}: this build has no CUDA backend yet; use --device cpu");
        }
        try
        {
            return DeviceSelector.Select(device, cudaBackend);
        }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException && cuda)
        {
            throw new DeviceException($"--device {device}: {e.Message}; use --device cpu, or --device auto to fall back to the CPU", e);
        }
    }
}
