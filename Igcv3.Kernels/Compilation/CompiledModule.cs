namespace Igcv3.Kernels.Compilation;

/// <summary>What a compiled image holds: machine code for one architecture, or PTX the driver JIT-compiles.</summary>
public enum ImageKind
{
    Cubin = 1,
    Ptx = 2,
}

/// <summary>
/// A compiled kernel source: the image to hand to cuModuleLoadDataEx, the NVRTC log it came with
/// (the ptxas register/spill report for a CUBIN), and whether it came from the disk cache.
/// </summary>
public sealed record CompiledModule(
    string UnitName,
    GpuArchitecture Architecture,
    string Target,
    ImageKind Kind,
    byte[] Image,
    string Log,
    IReadOnlyList<string> Options,
    bool FromCache)
{
    /// <summary>Per-function registers and spills, parsed from <see cref="Log"/> (empty for PTX,
    /// which ptxas has not seen yet: the driver's JIT info log carries its report).</summary>
    public IReadOnlyList<FunctionResources> Resources => PtxasReport.Parse(Log);

    public override string ToString() => $"{UnitName} → {Target} ({Kind}, {Image.Length} bytes{(FromCache ? ", cached" : "")})";
}
