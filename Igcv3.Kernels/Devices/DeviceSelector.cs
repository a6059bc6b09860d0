using Igcv3.Engine;
using Igcv3.Engine.Cpu;
using Igcv3.Kernels.Cuda;

namespace Igcv3.Kernels;

/// <summary>The backend chosen for a run and one line saying why, for the user to read; for CUDA,
/// also which files the driver, NVRTC and cuBLAS were loaded from.</summary>
public sealed record DeviceSelection(IBackend Backend, string Description, string? Libraries = null)
{
    public override string ToString() => Description;
}

/// <summary>
/// Turns the user's --device choice into a backend:
/// <list type="bullet">
/// <item>"cpu": the CPU reference backend.</item>
/// <item>"cuda" or "cuda:N": device N (0 by default) through <c>cudaBackend</c>; throws with the
/// reason when there is no usable device.</item>
/// <item>"emulated": the CUDA backend on the emulated device (the kernels compiled by the host C++
/// compiler and run on the CPU); throws with the reason when it cannot be built.</item>
/// <item>"auto": CUDA device 0 when it opens and a CUDA backend is given and starts, else the CPU,
/// with the reason in the description, for example "cpu (no CUDA driver: libcuda.so.1 not found)".</item>
/// </list>
/// <see cref="Select(string)"/> uses the engine's <see cref="CudaBackend"/>; the overload with a
/// factory lets tests substitute one (or pass none).
/// The CUDA backend is passed in as a factory (it owns the <see cref="CudaDevice"/> it is given),
/// so this selector does not depend on how, or whether, that backend is built.
/// </summary>
public static class DeviceSelector
{
    /// <summary>The user's choice with the engine's CUDA backend: what the trainer calls.</summary>
    public static DeviceSelection Select(string device) => Select(device, CudaBackend.Create);

    /// <summary>The user's choice with a given CUDA backend factory (tests inject their own).</summary>
    public static DeviceSelection Select(string device, Func<CudaDevice, IBackend> cudaBackend)
    {
        ArgumentNullException.ThrowIfNull(device);
        var choice = device.Trim().ToLowerInvariant();
        if (choice == "cpu") return Cpu("requested");
        if (choice == "auto")
        {
            if (!CudaDevice.TryOpen(out var found, out var reason)) return Cpu(reason);
            try
            {
                return Cuda(found!, cudaBackend);
            }
            catch (Exception e) when (IsBackendStartFailure(e))
            {
                // A GPU without a working NVRTC or cuBLAS: train on the CPU and say why.
                return Cpu($"a CUDA device was found, but the CUDA backend could not start: {e.Message}");
            }
        }
        if (choice == "cuda" || choice.StartsWith("cuda:", StringComparison.Ordinal))
        {
            int ordinal = 0;
            if (choice.Length > "cuda".Length && (!int.TryParse(choice["cuda:".Length..], out ordinal) || ordinal < 0))
            {
                throw new ArgumentException($"device: '{device}' is not cuda:N with N a device number", nameof(device));
            }
            return Cuda(CudaDevice.Open(ordinal), cudaBackend);
        }
        if (choice == "emulated")
        {
            if (!CudaBackend.TryCreateEmulated(out var emulated, out var why)) throw new NotSupportedException(why);
            return new DeviceSelection(emulated!, emulated!.Name);
        }
        throw new ArgumentException($"device: expected auto, cpu, cuda, cuda:N or emulated, got '{device}'", nameof(device));
    }

    /// <summary>How a CUDA backend fails to start on a machine with a GPU: NVRTC or cuBLAS missing
    /// or too old, or a driver call refused. Anything else is a bug, not the machine.</summary>
    public static bool IsBackendStartFailure(Exception e) =>
        e is CudaInteropException or DllNotFoundException or NotSupportedException or EntryPointNotFoundException;

    static DeviceSelection Cpu(string why) => new(CpuBackend.Instance, $"cpu ({why})");

    static DeviceSelection Cuda(CudaDevice device, Func<CudaDevice, IBackend> cudaBackend)
    {
        try
        {
            var backend = cudaBackend(device);
            return new DeviceSelection(backend, $"{backend.Name} ({device.Describe()})",
                string.Join("; ", NativeLibraries.LoadedLibraries.Select(l => $"{l.Library} from {l.Path}")));
        }
        catch
        {
            device.Dispose();
            throw;
        }
    }
}
