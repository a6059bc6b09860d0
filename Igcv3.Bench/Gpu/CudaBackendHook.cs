using System.Reflection;
using Igcv3.Engine;
using Igcv3.Kernels;

namespace Igcv3.Bench.Gpu;

/// <summary>
/// Finds the CUDA backend by reflection, so this project builds whether or not the backend exists
/// yet. The convention it relies on (documented in the README):
/// <list type="bullet">
/// <item>a non-abstract type in Igcv3.Kernels implementing <see cref="IBackend"/>, with a
/// constructor or a static <c>Create</c> taking a <see cref="CudaDevice"/>;</item>
/// <item>a property of type <see cref="CudaStreamHandle"/> (any visibility): the stream its work is
/// queued on, which the event timer records on; without it timings fall back to the host clock;</item>
/// <item>optionally a long-valued property or parameterless method whose name contains "Peak"
/// (peak bytes held by its allocator), and a parameterless method whose name starts with
/// "ResetPeak"; without them peak memory is read as total minus free device memory.</item>
/// </list>
/// </summary>
internal sealed class CudaBackendHook
{
    private const BindingFlags Any = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance;

    private readonly Func<long>? _peak;
    private readonly Action? _resetPeak;

    private CudaBackendHook(IBackend backend, CudaStreamHandle? stream, Func<long>? peak, Action? resetPeak)
    {
        Backend = backend;
        Stream = stream;
        _peak = peak;
        _resetPeak = resetPeak;
    }

    public IBackend Backend { get; }

    /// <summary>The backend's stream, or null when it exposes none.</summary>
    public CudaStreamHandle? Stream { get; }

    public bool HasAllocatorStatistics => _peak is not null;

    /// <summary>Peak bytes held by the backend's allocator since the last reset, or null.</summary>
    public long? PeakBytes => _peak?.Invoke();

    public void ResetPeak() => _resetPeak?.Invoke();

    /// <summary>The backend type, or null with the reason.</summary>
    public static Type? FindBackendType(out string reason)
    {
        var candidates = typeof(CudaDevice).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && typeof(IBackend).IsAssignableFrom(t)).ToList();
        if (candidates.Count == 0)
        {
            reason = "CUDA backend not built yet: no IBackend implementation in Igcv3.Kernels";
            return null;
        }
        reason = "";
        return candidates.FirstOrDefault(t => t.Name == "CudaBackend") ?? candidates[0];
    }

    /// <summary>Builds the backend on <paramref name="device"/>, or returns null with the reason.</summary>
    public static CudaBackendHook? TryCreate(CudaDevice device, out string reason)
    {
        var type = FindBackendType(out reason);
        if (type is null) return null;
        object? instance = null;
        var ctor = type.GetConstructors(Any).FirstOrDefault(c => c.GetParameters() is [{ ParameterType: var p }] && p == typeof(CudaDevice));
        if (ctor is not null) instance = ctor.Invoke([device]);
        else
        {
            var create = type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
                .FirstOrDefault(m => m.Name == "Create" && m.GetParameters() is [{ ParameterType: var p }] && p == typeof(CudaDevice));
            instance = create?.Invoke(null, [device]);
        }
        if (instance is not IBackend backend)
        {
            reason = $"{type.FullName} has no constructor or static Create taking a CudaDevice";
            return null;
        }
        var stream = type.GetProperties(Any).FirstOrDefault(p => p.PropertyType == typeof(CudaStreamHandle))?.GetValue(instance) as CudaStreamHandle;
        Func<long>? peak = null;
        var peakProperty = type.GetProperties(Any).FirstOrDefault(p => p.PropertyType == typeof(long) && p.Name.Contains("Peak", StringComparison.OrdinalIgnoreCase));
        var peakMethod = type.GetMethods(Any).FirstOrDefault(m => m.ReturnType == typeof(long) && m.GetParameters().Length == 0 && m.Name.Contains("Peak", StringComparison.OrdinalIgnoreCase));
        if (peakProperty is not null) peak = () => (long)peakProperty.GetValue(instance)!;
        else if (peakMethod is not null) peak = () => (long)peakMethod.Invoke(instance, null)!;
        var reset = type.GetMethods(Any).FirstOrDefault(m => m.Name.StartsWith("ResetPeak", StringComparison.OrdinalIgnoreCase) && m.GetParameters().Length == 0);
        reason = "";
        return new CudaBackendHook(backend, stream, peak, reset is null ? null : () => reset.Invoke(instance, null));
    }
}
