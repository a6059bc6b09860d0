using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Igcv3.Kernels.Compilation;
using Igcv3.Kernels.Cuda;

namespace Igcv3.Kernels.Emulation;

/// <summary>
/// The emulated device's native library: every kernels-cu unit, unchanged, compiled by the host
/// C++ compiler against kernels-cu/emulation/cuda_emu.h together with emulated_device.cpp (guarded
/// memory, the kernel table, launches on fibers). Built at first use, as NVRTC compiles the real
/// kernels, into a cache folder keyed by the SHA-256 of every source, the compiler's version and
/// the flags, so a later process loads it in milliseconds; one per process.
/// </summary>
internal sealed unsafe class EmulatedDeviceLibrary
{
    private const string Prefix = "kernels-emulation/";
    private static readonly string[] Flags = ["-O2", "-std=c++20", "-shared", "-fPIC", "-pthread", "-fno-strict-aliasing"];
    private static readonly Lazy<(EmulatedDeviceLibrary? Library, string Reason)> s_loaded = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly delegate* unmanaged<int, byte*> _kernelName;
    private readonly delegate* unmanaged<int, byte*> _kernelKinds;
    private readonly delegate* unmanaged<ulong, ulong> _alloc;
    private readonly delegate* unmanaged<ulong, int> _free;
    private readonly delegate* unmanaged<ulong, long> _bytesFrom;
    private readonly delegate* unmanaged<int, uint, uint, uint, uint, ulong*, int, byte*, int, int> _launch;
    private readonly Dictionary<string, (int Index, string Kinds)> _kernels = [];
    private readonly System.Collections.Concurrent.ConcurrentDictionary<KernelSignature, int> _checked = new(ReferenceEqualityComparer.Instance);

    private EmulatedDeviceLibrary(nint handle, string path)
    {
        Path = path;
        T Export<T>(string name) where T : unmanaged
        {
            nint f = NativeLibrary.GetExport(handle, name);
            return *(T*)&f;
        }
        var count = Export<nint>("igc_emu_kernel_count");
        _kernelName = (delegate* unmanaged<int, byte*>)Export<nint>("igc_emu_kernel_name");
        _kernelKinds = (delegate* unmanaged<int, byte*>)Export<nint>("igc_emu_kernel_kinds");
        _alloc = (delegate* unmanaged<ulong, ulong>)Export<nint>("igc_emu_alloc");
        _free = (delegate* unmanaged<ulong, int>)Export<nint>("igc_emu_free");
        _bytesFrom = (delegate* unmanaged<ulong, long>)Export<nint>("igc_emu_bytes_from");
        _launch = (delegate* unmanaged<int, uint, uint, uint, uint, ulong*, int, byte*, int, int>)Export<nint>("igc_emu_launch");
        int kernels = ((delegate* unmanaged<int>)count)();
        for (int i = 0; i < kernels; i++)
        {
            _kernels.Add(Marshal.PtrToStringUTF8((nint)_kernelName(i))!, (i, Marshal.PtrToStringUTF8((nint)_kernelKinds(i))!));
        }
    }

    /// <summary>Where the library was loaded from.</summary>
    public string Path { get; }

    /// <summary>Every kernel compiled in, with its parameter kinds as the compiler saw them (P
    /// pointer, I 32-bit integer, F float, L 64-bit integer).</summary>
    public IReadOnlyDictionary<string, string> Kernels => _kernels.ToDictionary(k => k.Key, k => k.Value.Kinds);

    /// <summary>The library, building it first when the cache lacks it, or why it cannot be had
    /// (no C++ compiler, a compile error). Never throws.</summary>
    public static bool TryGet(out EmulatedDeviceLibrary? library, out string reason)
    {
        (library, reason) = s_loaded.Value;
        return library is not null;
    }

    /// <summary>IGCV3_EMULATION_CACHE if set, else ~/.cache/igcv3/emulation.</summary>
    public static string CacheFolder() =>
        Environment.GetEnvironmentVariable("IGCV3_EMULATION_CACHE") is { Length: > 0 } folder
            ? folder
            : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "igcv3", "emulation");

    /// <summary>IGCV3_EMULATION_CXX if set, else g++.</summary>
    private static string Compiler() => Environment.GetEnvironmentVariable("IGCV3_EMULATION_CXX") is { Length: > 0 } cxx ? cxx : "g++";

    public ulong Allocate(long bytes)
    {
        ulong address = _alloc((ulong)bytes);
        if (address == 0) throw new OutOfMemoryException($"emulated device: the host has no memory for {bytes} bytes of device memory");
        return address;
    }

    public void Free(ulong address)
    {
        if (_free(address) == 0) throw new InvalidOperationException($"emulated device: 0x{address:x} is not an allocation's start");
    }

    /// <summary>Bytes from <paramref name="address"/> to the end of its allocation, or -1 outside every allocation.</summary>
    public long BytesFrom(ulong address) => _bytesFrom(address);

    /// <summary>Runs <paramref name="kernel"/> to completion; null, or why it failed (a fault with
    /// the block, thread and allocation, a barrier not all threads reach, an overwritten canary).</summary>
    public string? Launch(KernelSignature kernel, Dim3 grid, int blockThreads, ReadOnlySpan<ulong> slots)
    {
        int index = _checked.GetOrAdd(kernel, IndexOf);
        const int capacity = 2048;
        byte* message = stackalloc byte[capacity];
        fixed (ulong* args = slots)
        {
            if (_launch(index, grid.X, grid.Y, grid.Z, (uint)blockThreads, args, slots.Length, message, capacity) == 0) return null;
        }
        return Marshal.PtrToStringUTF8((nint)message);
    }

    /// <summary>The kernel's index in the library, once its declared parameter kinds are checked
    /// against those the compiler saw (at the first launch of each kernel).</summary>
    private int IndexOf(KernelSignature kernel)
    {
        if (!_kernels.TryGetValue(kernel.Name, out var entry)) throw new InvalidOperationException($"{kernel}: not compiled into the emulated device ({Path})");
        string declared = new([.. kernel.Parameters.Select(Letter)]);
        if (entry.Kinds != declared)
        {
            throw new InvalidOperationException($"{kernel}: the launch contract declares ({declared}), the compiled kernel takes ({entry.Kinds})");
        }
        return entry.Index;
    }

    private static char Letter(ArgKind kind) => kind switch
    {
        ArgKind.Pointer => 'P',
        ArgKind.Int32 => 'I',
        ArgKind.Float32 => 'F',
        _ => '?',
    };

    private static (EmulatedDeviceLibrary?, string) Load()
    {
        try
        {
            var sources = Sources();
            string version = Run(Compiler(), ["--version"], Environment.CurrentDirectory).Split('\n')[0];
            string key = Key(sources, version);
            string folder = CacheFolder();
            string path = System.IO.Path.Combine(folder, $"libigc_emu-{key[..16]}.so");
            if (!File.Exists(path)) Build(sources, folder, path);
            return (new EmulatedDeviceLibrary(NativeLibrary.Load(path), path), "");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception or InvalidOperationException or DllNotFoundException or BadImageFormatException or EntryPointNotFoundException)
        {
            return (null, $"the emulated device could not be built or loaded: {e.Message}");
        }
    }

    /// <summary>kernels-cu's units and headers, and the emulation's own two files, by name.</summary>
    private static IReadOnlyList<KernelSource> Sources()
    {
        var assembly = typeof(EmulatedDeviceLibrary).Assembly;
        var emulation = assembly.GetManifestResourceNames()
            .Where(r => r.Replace('\\', '/').StartsWith(Prefix, StringComparison.Ordinal))
            .Select(r => new KernelSource(r.Replace('\\', '/')[Prefix.Length..], Read(assembly, r)));
        return [.. EmbeddedKernelSources.Units, .. EmbeddedKernelSources.Headers, .. emulation.OrderBy(s => s.Name, StringComparer.Ordinal)];
    }

    private static string Read(Assembly assembly, string resource)
    {
        using var reader = new StreamReader(assembly.GetManifestResourceStream(resource)!);
        return reader.ReadToEnd();
    }

    private static string Key(IReadOnlyList<KernelSource> sources, string compilerVersion)
    {
        var text = new StringBuilder("igcv3-emulated-device-1\n").AppendLine(compilerVersion).AppendLine(string.Join(' ', Flags));
        foreach (var s in sources) text.Append(s.Name).Append('\n').Append(s.Text.Length).Append('\n').Append(s.Text);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>Writes the sources to a scratch folder, lists the extern "C" kernels from the
    /// preprocessed units (so a kernel added to kernels-cu is in the table without code changes),
    /// compiles, and renames the library into place (a concurrent build of the same key just wins
    /// or loses the rename).</summary>
    private static void Build(IReadOnlyList<KernelSource> sources, string folder, string path)
    {
        string scratch = Directory.CreateTempSubdirectory("igcv3-emulation-").FullName;
        try
        {
            foreach (var s in sources) File.WriteAllText(System.IO.Path.Combine(scratch, s.Name), s.Text);
            var units = new StringBuilder("#include \"cuda_emu.h\"\n");
            foreach (var unit in sources.Where(s => s.Name.EndsWith(".cu", StringComparison.Ordinal))) units.Append($"#include \"{unit.Name}\"\n");
            File.WriteAllText(System.IO.Path.Combine(scratch, "units.cpp"), units.ToString());
            // cuda_emu.h defines __global__ away unless it is defined already: here, as a marker.
            string preprocessed = Run(Compiler(), ["-std=c++20", "-E", "-P", "-D__global__=IGC_EMU_GLOBAL", "-I.", "units.cpp"], scratch);
            var names = System.Text.RegularExpressions.Regex.Matches(preprocessed, @"IGC_EMU_GLOBAL\s+void\s+(\w+)\s*\(")
                .Select(m => m.Groups[1].Value).Distinct().ToList();
            if (names.Count == 0) throw new InvalidOperationException("the emulated device's build found no kernels in the preprocessed units");
            File.WriteAllLines(System.IO.Path.Combine(scratch, "kernels.inc"), names.Select(n => $"IGC_EMU_KERNEL({n})"));
            File.WriteAllText(System.IO.Path.Combine(scratch, "device.cpp"),
                units + "#define IGC_EMU_KERNEL_LIST \"kernels.inc\"\n#include \"emulated_device.cpp\"\n");
            Directory.CreateDirectory(folder);
            string temporary = path + $".{Environment.ProcessId}.tmp";
            Run(Compiler(), [.. Flags, "-I.", "device.cpp", "-o", temporary], scratch);
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            try { Directory.Delete(scratch, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Runs the compiler; its standard output, or an exception with its messages.</summary>
    private static string Run(string program, IReadOnlyList<string> arguments, string directory)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            string errors = stderr.Result;
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed (exit {process.ExitCode}): {errors[..Math.Min(errors.Length, 4000)]}");
        }
        return stdout;
    }
}
