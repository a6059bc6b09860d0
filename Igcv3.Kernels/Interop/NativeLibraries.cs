using System.Reflection;
using System.Runtime.InteropServices;

namespace Igcv3.Kernels;

/// <summary>One native library that was loaded, and the file it came from.</summary>
public sealed record LoadedLibrary(string Library, string Path);

/// <summary>
/// Finds and loads the CUDA driver, NVRTC, cuBLAS and NCCL for the [LibraryImport]s of this assembly.
/// Each library is probed once: its candidate file names (newest major version first) in every
/// folder of <see cref="LibraryProbeFolders"/>, then the same names through the default loader
/// path. The outcome, a handle or the reason there is none, is cached, so a missing library costs
/// one probe and every later caller gets the same explanation.
/// </summary>
public static class NativeLibraries
{
    static readonly object Gate = new();
    static readonly Dictionary<string, (nint Handle, string Reason)> Outcomes = [];
    static readonly List<LoadedLibrary> Loaded = [];

    // Registering the resolver in the static constructor makes it happen exactly once (a second
    // SetDllImportResolver call for the same assembly throws), before the first P/Invoke: every
    // Interop.* class touches this class from its own static constructor.
    static NativeLibraries() =>
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraries).Assembly, Resolve);

    /// <summary>Files loaded so far, in load order.</summary>
    public static IReadOnlyList<LoadedLibrary> LoadedLibraries
    {
        get { lock (Gate) return Loaded.ToArray(); }
    }

    /// <summary>True when IGCV3_VERBOSE is set (and not "0"): each load is reported on stderr.</summary>
    public static bool Verbose =>
        Environment.GetEnvironmentVariable("IGCV3_VERBOSE") is { Length: > 0 } v && v != "0";

    /// <summary>Whether libcuda can be loaded. Never throws; says nothing about a GPU being present.</summary>
    public static bool IsDriverAvailable => TryLoad(Interop.Libraries.CudaDriver, out _, out _);

    /// <summary>Whether an NVRTC library can be loaded and answers nvrtcVersion. Never throws.</summary>
    public static bool IsNvrtcAvailable => Interop.Nvrtc.TryGetVersion(out _, out _);

    /// <summary>Whether a cuBLAS library can be loaded. Never throws.</summary>
    public static bool IsCublasAvailable => TryLoad(Interop.Libraries.Cublas, out _, out _);

    /// <summary>Whether libnccl.so.2 can be loaded (multi-GPU training). Never throws.</summary>
    public static bool IsNcclAvailable => TryLoad(Interop.Libraries.Nccl, out _, out _);

    /// <summary>Runs the static constructor (which registers the resolver); does nothing else.</summary>
    internal static void EnsureResolver() { }

    /// <summary>Loads <paramref name="library"/> (an <see cref="Interop.Libraries"/> name), or
    /// says why not, for example "libcuda.so.1 not found". Never throws.</summary>
    internal static bool TryLoad(string library, out nint handle, out string reason)
    {
        lock (Gate)
        {
            if (!Outcomes.TryGetValue(library, out var outcome))
            {
                outcome = Probe(library);
                Outcomes[library] = outcome;
            }
            handle = outcome.Handle;
            reason = outcome.Reason;
            return handle != 0;
        }
    }

    /// <summary>Loads <paramref name="library"/> or throws a DllNotFoundException with the probe's reason.</summary>
    internal static nint Require(string library) =>
        TryLoad(library, out var handle, out var reason) ? handle : throw new DllNotFoundException(reason);

    static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath) =>
        name is Interop.Libraries.CudaDriver or Interop.Libraries.Nvrtc or Interop.Libraries.Cublas or Interop.Libraries.Nccl
            && TryLoad(name, out var handle, out _) ? handle : 0;

    static (nint Handle, string Reason) Probe(string library)
    {
        // NCCL's soname carries its own major version (2), not CUDA's.
        int? driverMajor = library is Interop.Libraries.CudaDriver or Interop.Libraries.Nccl ? null : DriverCudaMajor();
        var all = CandidateFileNames(library);
        var names = CompatibleFileNames(all, driverMajor);
        var loadErrors = new List<string>();
        // Not an error in itself (an older library may be there too); said if none loads.
        string skipped = names.Length < all.Length
            ? $"; {string.Join(", ", all.Except(names))} not tried: newer than the driver's CUDA {driverMajor}, whose kernels it cannot load"
            : "";
        foreach (var folder in LibraryProbeFolders.For(library))
        {
            foreach (var name in names)
            {
                var path = Path.Combine(folder, name);
                if (!File.Exists(path)) continue;
                try
                {
                    var loaded = NativeLibrary.Load(path);
                    if (library == Interop.Libraries.Nvrtc) PreloadNvrtcBuiltins(folder);
                    return Record(library, loaded, path);
                }
                catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
                {
                    // A file that exists but does not load (missing dependency, wrong
                    // architecture) is worth naming if nothing else loads either.
                    loadErrors.Add($"{path}: {e.Message}");
                }
            }
        }
        foreach (var name in names)
        {
            if (NativeLibrary.TryLoad(name, out var handle)) return Record(library, handle, name + " (default loader path)");
        }
        var reason = $"{string.Join(", ", names)} not found";
        if (loadErrors.Count > 0) reason += $"; found but failed to load: {string.Join("; ", loadErrors)}";
        reason += skipped;
        return (0, reason);
    }

    /// <summary>NVRTC opens its builtins library (libnvrtc-builtins.so.X.Y) by name when it
    /// compiles. Pip's CUDA 13 NVRTC wheel has no $ORIGIN run path, so outside the loader path that
    /// lookup fails (NVRTC_ERROR_BUILTIN_OPERATION_FAILURE); loaded here first from the folder
    /// NVRTC came from, the lookup finds it already in the process.</summary>
    static void PreloadNvrtcBuiltins(string folder)
    {
        if (OperatingSystem.IsWindows()) return;
        string[] builtins;
        try
        {
            builtins = Directory.GetFiles(folder, "libnvrtc-builtins.so*");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }
        foreach (var path in builtins.OrderDescending(StringComparer.Ordinal))
        {
            if (NativeLibrary.TryLoad(path, out _))
            {
                if (Verbose) Console.Error.WriteLine($"igcv3: NVRTC builtins preloaded from {path}");
                return;
            }
        }
    }

    static (nint, string) Record(string library, nint handle, string path)
    {
        Loaded.Add(new LoadedLibrary(library, path));
        if (Verbose) Console.Error.WriteLine($"igcv3: {library} loaded from {path}");
        return (handle, "");
    }

    /// <summary>The major CUDA version the installed driver implements (12 for 12.4), or null
    /// without a driver. A toolkit library of a newer major version than the driver (NVRTC 13 on a
    /// CUDA 12 driver) loads, but its CUBINs and cuBLAS's kernels then fail on that driver.</summary>
    static int? DriverCudaMajor()
    {
        if (!TryLoad(Interop.Libraries.CudaDriver, out _, out _)) return null;
        try
        {
            return Interop.CudaDriver.DriverVersion() / 1000;
        }
        catch (Exception e) when (e is CudaInteropException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    /// <summary><paramref name="names"/> without those of a major version above <paramref name="driverMajor"/> (all of them when it is null).</summary>
    internal static string[] CompatibleFileNames(string[] names, int? driverMajor) =>
        driverMajor is { } major ? [.. names.Where(n => MajorVersionOf(n) is not { } v || v <= major)] : names;

    /// <summary>The CUDA major version in a library file name: libnvrtc.so.13 → 13, libnvrtc.so.11.2 → 11,
    /// nvrtc64_120_0.dll → 12, cublas64_13.dll → 13; null for an unversioned name (libcublas.so).</summary>
    internal static int? MajorVersionOf(string fileName)
    {
        int so = fileName.IndexOf(".so.", StringComparison.Ordinal);
        if (so >= 0) return int.TryParse(fileName[(so + 4)..].Split('.')[0], out int v) ? v : null;
        int underscore = fileName.IndexOf("64_", StringComparison.Ordinal);
        if (underscore < 0) return null;
        string digits = new([.. fileName[(underscore + 3)..].TakeWhile(char.IsAsciiDigit)]);
        if (!int.TryParse(digits, out int d)) return null;
        return digits.Length == 3 ? d / 10 : d; // NVRTC names major and minor (120), cuBLAS the major (12)
    }

    /// <summary>File names to try, newest major version first. The driver is only ever
    /// libcuda.so.1: an unversioned libcuda.so is the toolkit's link-time stub.</summary>
    internal static string[] CandidateFileNames(string library)
    {
        bool windows = OperatingSystem.IsWindows();
        return library switch
        {
            Interop.Libraries.CudaDriver => windows ? ["nvcuda.dll"] : ["libcuda.so.1"],
            Interop.Libraries.Nvrtc => windows
                ? ["nvrtc64_130_0.dll", "nvrtc64_120_0.dll", "nvrtc64_112_0.dll"]
                : ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"],
            Interop.Libraries.Cublas => windows
                ? ["cublas64_13.dll", "cublas64_12.dll", "cublas64_11.dll"]
                : ["libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"],
            // NCCL has no Windows build.
            Interop.Libraries.Nccl => windows ? [] : ["libnccl.so.2", "libnccl.so"],
            _ => throw new ArgumentOutOfRangeException(nameof(library), library, "not a library of Interop.Libraries"),
        };
    }
}
