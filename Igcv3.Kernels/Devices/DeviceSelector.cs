using Igcv3.Engine;
using Igcv3.Engine.Cpu;

namespace Igcv3.Kernels;

/// <summary>The backend chosen for a run and one line saying why, for the user to read.</summary>
public sealed record DeviceSelection(IBackend Backend, string Description)
{
    public override string ToString() => Description;
}

/// <summary>
/// Turns the user's --device choice into a backend:
/// <list type="bullet">
/// <item>"cpu": the CPU reference backend.</item>
/// <item>"cuda" or "cuda:N": device N (0 by default) through <c>cudaBackend</c>; throws with the
/// reason when there is no usable device.</item>
/// <item>"auto": CUDA device 0 when it opens and a CUDA backend is given, else the CPU, with the
/// reason in the description, for example "cpu (no CUDA driver: libcuda.so.1 not found)".</item>
/// </list>
/// The CUDA backend is passed in as a factory (it owns the <see cref="CudaDevice"/> it is given),
/// so this selector does not depend on how, or whether, that backend is built.
/// </summary>
public static class DeviceSelector
{
    public static DeviceSelection Select(string device, Func<CudaDevice, IBackend>? cudaBackend = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        var choice = device.Trim().ToLowerInvariant();
        if (choice == "cpu") return Cpu("requested");
        if (choice == "auto")
        {
            if (!CudaDevice.TryOpen(out var found, out var reason)) return Cpu(reason);
            if (cudaBackend == null)
            {
                var description = found!.ToString();
                found.Dispose();
                return Cpu($"{description} found, but no CUDA backend was given");
            }
            return Cuda(found!, cudaBackend);
        }
        if (choice == "cuda" || choice.StartsWith("cuda:", StringComparison.Ordinal))
        {
            int ordinal = 0;
            if (choice.Length > "cuda".Length && (!int.TryParse(choice["cuda:".Length..], out ordinal) || ordinal < 0))
            {
                throw new ArgumentException($"device: '{device}' is not cuda:N with N a device number", nameof(device));
            }
            if (cudaBackend == null) throw new NotSupportedException($"device '{device}': CUDA backend not built yet (no CUDA backend factory was given)");
            return Cuda(CudaDevice.Open(ordinal), cudaBackend);
        }
        throw new ArgumentException($"device: expected auto, cpu, cuda or cuda:N, got '{device}'", nameof(device));
    }

    static DeviceSelection Cpu(string why) => new(CpuBackend.Instance, $"cpu ({why})");

    static DeviceSelection Cuda(CudaDevice device, Func<CudaDevice, IBackend> cudaBackend)
    {
        try
        {
            var backend = cudaBackend(device);
            return new DeviceSelection(backend, $"{backend.Name} ({device.Describe()})");
        }
        catch
        {
            device.Dispose();
            throw;
        }
    }
}
