using System.Text.RegularExpressions;
using Igcv3.Kernels;
using Igcv3.Kernels.Compilation;
using Igcv3.Tests.Support;
using Xunit;

namespace Igcv3.Tests.Kernels;

/// <summary>
/// Every embedded kernels-cu unit compiles with NVRTC to a CUBIN without register spills, for each
/// architecture the engine targets: sm_80 (A100), sm_86 (consumer Ampere) and sm_90 (H100).
/// Exception, by design: an architecture the loaded NVRTC cannot target is left out rather than
/// failed (NVRTC 11.2 to 11.7 predate Hopper, so sm_90 is compiled only where NVRTC lists it;
/// Debian's libnvrtc11.2 package actually ships NVRTC 11.8, which does). Those devices run the
/// compute_XX PTX fallback, tested separately below. No GPU is needed.
/// </summary>
public partial class NvrtcCompileTests
{
    static readonly int[] EngineArchitectures = [80, 86, 90];

    /// <summary>Every embedded .cu file: a kernel added to kernels-cu is covered without editing this test.</summary>
    public static TheoryData<string> Units() => new(EmbeddedKernelSources.Units.Select(u => u.Name));

    [Fact]
    public void EmbeddedSources_IncludeTheSmokeUnitAndSharedHeader()
    {
        Assert.Contains(EmbeddedKernelSources.Units, u => u.Name == "smoke.cu");
        Assert.Contains(EmbeddedKernelSources.Headers, h => h.Name == "igc_common.cuh");
        Assert.All(EmbeddedKernelSources.Units, u => Assert.False(string.IsNullOrWhiteSpace(u.Text), u.Name));
    }

    [Theory]
    [MemberData(nameof(Units))]
    public void Unit_CompilesToCubinWithoutSpills_ForEachSupportedArchitecture(string unitName)
    {
        var compiler = CudaRequirements.CompilerOrSkip();
        var unit = EmbeddedKernelSources.Unit(unitName);
        var architectures = EngineArchitectures.Where(a => compiler.SupportedArchitectures.Contains(a)).ToArray();
        Assert.True(architectures.Length > 0,
            $"NVRTC {compiler.NvrtcVersion} supports none of sm_80, sm_86, sm_90 (it lists {string.Join(", ", compiler.SupportedArchitectures)})");

        var problems = new List<string>();
        foreach (var number in architectures)
        {
            var module = compiler.Compile(unit, GpuArchitecture.FromNumber(number));
            Assert.Equal(ImageKind.Cubin, module.Kind);
            Assert.Equal($"sm_{number}", module.Target);
            // A CUBIN is an ELF file: check the magic rather than trust the size alone.
            Assert.True(module.Image.Length > 4 && module.Image[0] == 0x7F && module.Image[1] == (byte)'E'
                && module.Image[2] == (byte)'L' && module.Image[3] == (byte)'F', $"{unitName} sm_{number}: the image is not an ELF CUBIN");

            var resources = module.Resources;
            // Every extern "C" kernel written in the source must appear in the ptxas report.
            foreach (var kernel in ExternCKernels(unit.Text))
            {
                var entry = resources.FirstOrDefault(r => r.Function == kernel && r.IsEntry);
                if (entry == null) problems.Add($"{unitName} sm_{number}: kernel {kernel} missing from the ptxas report:\n{module.Log}");
                else if (entry.Registers is not > 0) problems.Add($"{unitName} sm_{number}: no register count for {kernel}");
            }
            foreach (var spilling in resources.Where(r => r.Spills))
            {
                problems.Add($"{unitName} sm_{number}: {spilling.Function} spills " +
                    $"({spilling.SpillStoreBytes} bytes stores, {spilling.SpillLoadBytes} bytes loads, {spilling.Registers} registers)");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void ArchitectureNewerThanNvrtc_FallsBackToPtxForNewestVirtualArchitecture()
    {
        var compiler = CudaRequirements.CompilerOrSkip();
        int newest = compiler.SupportedArchitectures.Max();
        // Ten above the newest: an architecture this NVRTC cannot know, whatever its version.
        var module = compiler.Compile("smoke.cu", GpuArchitecture.FromNumber(newest + 10));

        Assert.Equal(ImageKind.Ptx, module.Kind);
        Assert.Equal($"compute_{newest}", module.Target);
        Assert.DoesNotContain(KernelCompiler.PtxasVerbose, module.Options);
        var ptx = System.Text.Encoding.ASCII.GetString(module.Image);
        Assert.Contains($".target sm_{newest}", ptx);
        Assert.Contains(".entry fill_f32", ptx);
        Assert.EndsWith("\0", ptx);   // cuModuleLoadData needs the terminating NUL
    }

    /// <summary>The bf16 kernels reach the tensor cores through igc_mma_bf16_m16n8k16's inline PTX
    /// (not its pre-Ampere trap): the PTX of every bf16 kernel holds the instruction.</summary>
    [Fact]
    public void Bf16Kernels_UseTheTensorCoreInstruction()
    {
        var compiler = CudaRequirements.CompilerOrSkip();
        var module = compiler.Compile("pointwise_bf16.cu", GpuArchitecture.FromNumber(compiler.SupportedArchitectures.Max() + 10));
        var ptx = System.Text.Encoding.ASCII.GetString(module.Image);
        var entries = Regex.Split(ptx, @"(?=\.visible \.entry )").Where(e => e.StartsWith(".visible .entry ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(9, entries.Length);
        Assert.All(entries, e =>
        {
            Assert.Contains("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32", e);
            Assert.DoesNotContain("trap;", e);
        });
    }

    [Fact]
    public void ArchitectureOlderThanNvrtcSupports_ThrowsNamingTheSupportedList()
    {
        var compiler = CudaRequirements.CompilerOrSkip();
        var e = Assert.Throws<NotSupportedException>(() => compiler.TargetFor(new GpuArchitecture(2, 0)));
        Assert.Contains("sm_20", e.Message);
        Assert.Contains($"sm_{compiler.SupportedArchitectures[0]}", e.Message);
    }

    [Fact]
    public void Options_AreArchitectureThenCommonThenPtxasVerbose()
    {
        Assert.Equal(["--gpu-architecture=sm_86", "--std=c++17", "-lineinfo", "--ptxas-options=-v"],
            KernelCompiler.OptionsFor("sm_86", ImageKind.Cubin, (11, 8)));
        Assert.Equal(["--gpu-architecture=compute_86", "--std=c++17", "-lineinfo", "--maxrregcount=32"],
            KernelCompiler.OptionsFor("compute_86", ImageKind.Ptx, (11, 8), ["--maxrregcount=32"]));
    }

    [Fact]
    public void LineInfo_IsLeftOutOnlyWhereNvrtc11CrashesWithIt()
    {
        // NVRTC 11.8 crashes (endless recursion) compiling pointwise.cu for sm_90 with -lineinfo.
        Assert.DoesNotContain("-lineinfo", KernelCompiler.OptionsFor("sm_90", ImageKind.Cubin, (11, 8)));
        Assert.DoesNotContain("-lineinfo", KernelCompiler.OptionsFor("sm_90a", ImageKind.Cubin, (11, 8)));
        Assert.Contains("-lineinfo", KernelCompiler.OptionsFor("sm_90", ImageKind.Cubin, (13, 0)));
        Assert.Contains("-lineinfo", KernelCompiler.OptionsFor("sm_80", ImageKind.Cubin, (11, 8)));
    }

    [Fact]
    public void BrokenSource_ThrowsNvrtcExceptionWithCallNameAndLog()
    {
        var compiler = CudaRequirements.CompilerOrSkip();
        var broken = new KernelSource("broken.cu", """
            #include "igc_common.cuh"
            extern "C" __global__ void broken(float* y) {
                y[0] = igc_activate(2, undefined_variable);
            }
            """);
        var e = Assert.Throws<NvrtcException>(() => compiler.Compile(broken, new GpuArchitecture(8, 0)));

        Assert.Equal("NVRTC_ERROR_COMPILATION", e.CodeName);
        Assert.StartsWith("nvrtcCompileProgram(broken.cu", e.Call);
        Assert.Contains("nvrtcCompileProgram", e.Message);
        Assert.Contains("undefined_variable", e.Log);
        Assert.Contains("broken.cu", e.Log);
        Assert.Contains(e.Log.Trim(), e.Message);
    }

    [Fact]
    public void MissingHeader_FailsCompilationNamingTheHeader()
    {
        var compiler = CudaRequirements.CompilerOrSkip();
        var unit = new KernelSource("needs_header.cu", "#include \"no_such_header.cuh\"\nextern \"C\" __global__ void k() {}\n");
        var e = Assert.Throws<NvrtcException>(() => compiler.Compile(unit, new GpuArchitecture(8, 0)));
        Assert.Contains("no_such_header.cuh", e.Message);
    }

    [Fact]
    public void RegisterStarvedKernel_ReportsSpills_SoTheNoSpillCheckCanFail()
    {
        // 48 values live across a fully unrolled double loop need far more than the 24 registers
        // --maxrregcount allows on sm_80, so ptxas must spill; the parser must see it.
        var compiler = CudaRequirements.CompilerOrSkip();
        var unit = new KernelSource("starved.cu", """
            extern "C" __global__ void starved(const float* x, float* y) {
                float a[48];
                #pragma unroll
                for (int i = 0; i < 48; i++) a[i] = x[i * blockDim.x + threadIdx.x];
                float s = 0;
                #pragma unroll
                for (int j = 0; j < 48; j++) {
                    #pragma unroll
                    for (int i = 0; i < 48; i++) s += a[i] * a[(i + j) % 48];
                }
                y[threadIdx.x] = s;
            }
            """);
        var module = compiler.Compile(unit, new GpuArchitecture(8, 0), ["--maxrregcount=24"]);
        var starved = Assert.Single(module.Resources, r => r.Function == "starved");
        Assert.True(starved.Spills, $"expected spills, ptxas said:\n{module.Log}");
        Assert.True(starved.Registers <= 24, starved.ToString());
    }

    /// <summary>Kernels declared outside macros. Those a #define generates (the GEMM tile variants)
    /// get their names from token pasting, which only the preprocessor resolves; ptxas reports them
    /// under their expanded names, and the spill check covers every reported entry.</summary>
    static IEnumerable<string> ExternCKernels(string source) =>
        ExternCKernel().Matches(MacroBody().Replace(source, "")).Select(m => m.Groups["name"].Value);

    [GeneratedRegex(@"^[ \t]*#[ \t]*define(?:[^\n]*\\\r?\n)*[^\n]*", RegexOptions.Multiline)]
    private static partial Regex MacroBody();

    [GeneratedRegex(@"extern\s+""C""\s+__global__\s+(?:__launch_bounds__\s*\([^)]*\)\s*)?void\s+(?:__launch_bounds__\s*\([^)]*\)\s*)?(?<name>\w+)\s*\(")]
    private static partial Regex ExternCKernel();
}
