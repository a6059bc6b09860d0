using Igcv3.Bench.Modes;
using Igcv3.Kernels.Compilation;
using Xunit;

namespace Igcv3.Tests.Bench;

/// <summary>compile-log's table, from logs in the shape ptxas writes: every function with its
/// registers and spills, the spilling ones named again, and a closing count the GPU session's
/// summary shows.</summary>
public sealed class CompileLogTests
{
    const string SpillingLog = """
        ptxas info    : Compiling entry function 'fill_f32' for 'sm_90'
        ptxas info    : Function properties for fill_f32
        ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
        ptxas info    : Used 10 registers, 372 bytes cmem[0]
        ptxas info    : Compiling entry function 'starved' for 'sm_90'
        ptxas info    : Function properties for starved
        ptxas         .     5960 bytes stack frame, 5952 bytes spill stores, 12152 bytes spill loads
        ptxas info    : Used 24 registers, 368 bytes cmem[0]
        """;

    static CompiledModule Module(string unit, string log, ImageKind kind = ImageKind.Cubin) =>
        new(unit, new GpuArchitecture(9, 0), kind == ImageKind.Cubin ? "sm_90" : "compute_90", kind, [0x7F], log, [], FromCache: false);

    [Fact]
    public void Format_ListsEveryFunction_AndNamesTheSpillingOnesAgain()
    {
        var text = Compile([Module("smoke.cu", SpillingLog)], []);
        var lines = text.Split('\n');

        Assert.StartsWith("NVRTC 13.0", text);
        Assert.Contains(lines, l => l.StartsWith("smoke.cu") && l.Contains("fill_f32") && l.Contains(" 10 "));
        Assert.Contains(lines, l => l.StartsWith("SPILLS smoke.cu starved: 24 registers, 5960 bytes stack, 5952 bytes spill stores, 12152 bytes spill loads"));
        Assert.DoesNotContain(lines, l => l.StartsWith("SPILLS") && l.Contains("fill_f32"));
        Assert.Equal("1 units, 2 functions, 1 spilling", lines.Last(l => l.Length > 0));
    }

    [Fact]
    public void Format_SaysWhatItCannotReport_PtxAndFailedUnits()
    {
        var text = Compile([Module("pointwise.cu", "", ImageKind.Ptx)], ["conv2d.cu: NVRTC_ERROR_COMPILATION"]);

        Assert.Contains("pointwise.cu: PTX, registers known only after the driver's JIT", text);
        Assert.Contains("FAILED conv2d.cu: NVRTC_ERROR_COMPILATION", text);
        Assert.EndsWith("1 units, 0 functions, 0 spilling, 1 units failed to compile\n", text.ReplaceLineEndings("\n"));
    }

    static string Compile(IReadOnlyList<CompiledModule> modules, IReadOnlyList<string> failures) =>
        CompileLog.Format("NVRTC 13.0 (libnvrtc.so.13)", modules, failures);
}
