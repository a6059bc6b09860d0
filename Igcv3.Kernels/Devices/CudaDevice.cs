using Igcv3.Kernels.Compilation;
using static Igcv3.Kernels.Interop.CudaDriver;

namespace Igcv3.Kernels;

/// <summary>
/// One CUDA device with its primary context retained: the facts a user and the kernel compiler
/// need (name, compute capability, SM count, memory) and the context that device resources
/// (<see cref="DeviceMemoryHandle"/>, <see cref="CudaStreamHandle"/>, ...) are created in.
/// Disposing releases the context once every resource created in it is released too.
/// </summary>
public sealed class CudaDevice : IDisposable
{
    CudaDevice(int ordinal, int device, CudaContextHandle context)
    {
        Ordinal = ordinal;
        Context = context;
        Name = DeviceName(device);
        Architecture = new GpuArchitecture(
            DeviceAttribute(device, CuDeviceAttribute.ComputeCapabilityMajor),
            DeviceAttribute(device, CuDeviceAttribute.ComputeCapabilityMinor));
        MultiprocessorCount = DeviceAttribute(device, CuDeviceAttribute.MultiprocessorCount);
        MaxThreadsPerBlock = DeviceAttribute(device, CuDeviceAttribute.MaxThreadsPerBlock);
        MaxSharedMemoryPerBlockOptin = DeviceAttribute(device, CuDeviceAttribute.MaxSharedMemoryPerBlockOptin);
        TotalMemoryBytes = DeviceTotalMemory(device);
        DriverVersion = Interop.CudaDriver.DriverVersion();
    }

    /// <summary>The ordinal it was opened by (cuda:N).</summary>
    public int Ordinal { get; }

    public string Name { get; }

    /// <summary>Compute capability, for example sm_90 for an H100.</summary>
    public GpuArchitecture Architecture { get; }

    public int MultiprocessorCount { get; }

    public int MaxThreadsPerBlock { get; }

    /// <summary>The most shared memory one block can opt in to, in bytes.</summary>
    public int MaxSharedMemoryPerBlockOptin { get; }

    public long TotalMemoryBytes { get; }

    /// <summary>The driver's CUDA version as 1000*major + 10*minor (12040 for 12.4).</summary>
    public int DriverVersion { get; }

    /// <summary>The CUDA version the driver implements, "13.0" for 13000.</summary>
    public string DriverCudaVersion => $"{DriverVersion / 1000}.{DriverVersion % 1000 / 10}";

    internal CudaContextHandle Context { get; }

    /// <summary>Makes this device's context current on the calling thread.</summary>
    public void MakeCurrent() => Context.MakeCurrent();

    /// <summary>(free, total) device memory in bytes, right now.</summary>
    public (long Free, long Total) MemoryInfo()
    {
        MakeCurrent();
        return Interop.CudaDriver.MemoryInfo();
    }

    /// <summary>"NVIDIA H100 80GB HBM3, sm_90, 132 SMs, 79.1 GiB, driver 12.4".</summary>
    public string Describe() =>
        $"{Name}, {Architecture}, {MultiprocessorCount} SMs, {TotalMemoryBytes / (double)(1L << 30):F1} GiB, driver {DriverCudaVersion}";

    public override string ToString() => $"cuda:{Ordinal} ({Describe()})";

    /// <summary>
    /// Opens device <paramref name="ordinal"/>, or says why not in one line: "no CUDA driver:
    /// libcuda.so.1 not found", "cuInit failed: CUDA_ERROR_NO_DEVICE ...", "no CUDA device ...".
    /// Never throws.
    /// </summary>
    public static bool TryOpen(out CudaDevice? device, out string reason, int ordinal = 0)
    {
        device = null;
        if (!NativeLibraries.TryLoad(Interop.Libraries.CudaDriver, out _, out var loadFailure))
        {
            reason = $"no CUDA driver: {loadFailure}";
            return false;
        }
        CudaContextHandle? context = null;
        try
        {
            var init = TryInit();
            if (init != CuResult.Success)
            {
                reason = $"cuInit failed: {Failure(init, "cuInit(0)").Message}";
                return false;
            }
            int count = DeviceCount();
            if (count == 0)
            {
                reason = "no CUDA device (cuDeviceGetCount returned 0)";
                return false;
            }
            if (ordinal < 0 || ordinal >= count)
            {
                reason = $"no CUDA device {ordinal} (there {(count == 1 ? "is 1 device" : $"are {count} devices")})";
                return false;
            }
            int handle = DeviceGet(ordinal);
            context = CudaContextHandle.RetainPrimary(handle);
            device = new CudaDevice(ordinal, handle, context);
            reason = "";
            return true;
        }
        catch (Exception e) when (e is CudaInteropException or EntryPointNotFoundException or DllNotFoundException)
        {
            context?.Dispose();
            reason = e.Message;
            return false;
        }
    }

    /// <summary>Opens device <paramref name="ordinal"/> or throws InvalidOperationException with the reason.</summary>
    public static CudaDevice Open(int ordinal = 0) =>
        TryOpen(out var device, out var reason, ordinal) ? device! : throw new InvalidOperationException($"cuda:{ordinal}: {reason}");

    public void Dispose() => Context.Dispose();
}
