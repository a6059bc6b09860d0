namespace Igcv3.Kernels.Compilation;

/// <summary>
/// Compiles kernels-cu sources with NVRTC, through a disk cache.
/// <para>Options, in order: <c>--gpu-architecture=sm_XX --std=c++17 -lineinfo --ptxas-options=-v</c>
/// (then any extra options). -lineinfo keeps source lines for profilers at no run-time cost;
/// ptxas -v puts the per-kernel register and spill report into the log (see <see cref="PtxasReport"/>).
/// One exception: NVRTC 11.x (Debian's libnvrtc11.2 is 11.8) recurses without end and crashes the
/// process when it compiles our tiled GEMM kernels for sm_90 with -lineinfo (seen with pointwise.cu
/// and conv2d.cu; without -lineinfo they compile cleanly), so line info is left out there.</para>
/// <para>Target: a CUBIN for the device's own architecture when this NVRTC supports it. A device
/// newer than the NVRTC (for example sm_90 with an NVRTC from before Hopper) gets PTX for the
/// newest virtual architecture NVRTC knows (<c>--gpu-architecture=compute_XX</c>, no ptxas
/// options since ptxas does not run), which the driver JIT-compiles at module load: PTX is
/// forward compatible, so the kernels run, only without the newer architecture's features.</para>
/// </summary>
public sealed class KernelCompiler
{
    /// <summary>The options every compile passes after --gpu-architecture.</summary>
    public static readonly IReadOnlyList<string> CommonOptions = ["--std=c++17"];

    /// <summary>Source-line information for profilers (see <see cref="WantsLineInfo"/>).</summary>
    public const string LineInfo = "-lineinfo";

    /// <summary>Asks ptxas for its register/spill report (CUBIN targets only).</summary>
    public const string PtxasVerbose = "--ptxas-options=-v";

    readonly KernelCache? cache;
    readonly KernelSource[] headers;

    /// <param name="cache">Where compiled images are kept; null compiles every time.</param>
    /// <param name="headers">Headers available to #include; the embedded kernels-cu headers by default.</param>
    /// <exception cref="DllNotFoundException">No NVRTC library could be loaded; the message says what was tried.</exception>
    public KernelCompiler(KernelCache? cache, IReadOnlyList<KernelSource>? headers = null)
    {
        if (!Interop.Nvrtc.TryGetVersion(out var version, out var reason)) throw new DllNotFoundException($"NVRTC is not available: {reason}");
        NvrtcVersion = version;
        SupportedArchitectures = Interop.Nvrtc.SupportedArchitectures();
        this.cache = cache;
        this.headers = (headers ?? EmbeddedKernelSources.Headers).ToArray();
    }

    /// <summary>A compiler with the default disk cache (IGCV3_KERNEL_CACHE or ~/.cache/igcv3/kernels).</summary>
    public static KernelCompiler CreateDefault() => new(KernelCache.Default());

    public (int Major, int Minor) NvrtcVersion { get; }

    /// <summary>Architecture numbers (80 for sm_80) this NVRTC can target, ascending.</summary>
    public IReadOnlyList<int> SupportedArchitectures { get; }

    public bool Supports(GpuArchitecture architecture) => SupportedArchitectures.Contains(architecture.Number);

    /// <summary>"sm_86" (CUBIN) when supported, else "compute_XX" (PTX) for the newest older
    /// virtual architecture; throws for a device older than everything NVRTC supports.</summary>
    public (string Target, ImageKind Kind) TargetFor(GpuArchitecture architecture)
    {
        if (Supports(architecture)) return (architecture.Real, ImageKind.Cubin);
        var older = SupportedArchitectures.Where(a => a < architecture.Number).ToArray();
        if (older.Length == 0)
        {
            throw new NotSupportedException(
                $"NVRTC {NvrtcVersion.Major}.{NvrtcVersion.Minor} cannot target {architecture}: it supports {string.Join(", ", SupportedArchitectures.Select(a => "sm_" + a))}");
        }
        return (GpuArchitecture.FromNumber(older.Max()).Virtual, ImageKind.Ptx);
    }

    /// <summary>The full NVRTC option list for a target.</summary>
    public static IReadOnlyList<string> OptionsFor(string target, ImageKind kind, (int Major, int Minor) nvrtcVersion, IReadOnlyList<string>? extraOptions = null) =>
    [
        $"--gpu-architecture={target}",
        .. CommonOptions,
        .. WantsLineInfo(target, nvrtcVersion) ? [LineInfo] : Array.Empty<string>(),
        .. kind == ImageKind.Cubin ? [PtxasVerbose] : Array.Empty<string>(),
        .. extraOptions ?? [],
    ];

    /// <summary>False only where -lineinfo is known to crash NVRTC: version 11.x targeting sm_90 or newer.</summary>
    public static bool WantsLineInfo(string target, (int Major, int Minor) nvrtcVersion)
    {
        int number = int.Parse(target[(target.IndexOf('_') + 1)..].TrimEnd('a'), System.Globalization.CultureInfo.InvariantCulture);
        return nvrtcVersion.Major >= 12 || number < 90;
    }

    /// <summary>Compiles the embedded unit named <paramref name="unitName"/>, for example "smoke.cu".</summary>
    public CompiledModule Compile(string unitName, GpuArchitecture architecture) =>
        Compile(EmbeddedKernelSources.Unit(unitName), architecture);

    /// <summary>Compiles <paramref name="unit"/> for <paramref name="architecture"/>, from the
    /// cache when an identical compile was done before. Compile errors throw an
    /// <see cref="NvrtcException"/> carrying the NVRTC log.</summary>
    public CompiledModule Compile(KernelSource unit, GpuArchitecture architecture, IReadOnlyList<string>? extraOptions = null)
    {
        var (target, kind) = TargetFor(architecture);
        var options = OptionsFor(target, kind, NvrtcVersion, extraOptions);
        var key = KernelCache.Key(unit, headers, target, options, NvrtcVersion);
        if (cache != null && cache.TryRead(key, out var cachedKind, out var cachedImage, out var cachedLog) && cachedKind == kind)
        {
            return new CompiledModule(unit.Name, architecture, target, kind, cachedImage, cachedLog, options, FromCache: true);
        }
        var (image, log) = Interop.Nvrtc.Compile(unit.Text, unit.Name, headers.Select(h => (h.Name, h.Text)).ToArray(), options,
            wantCubin: kind == ImageKind.Cubin);
        cache?.Write(key, kind, image, log);
        return new CompiledModule(unit.Name, architecture, target, kind, image, log, options, FromCache: false);
    }
}
