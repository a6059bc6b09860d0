using Igcv3.Kernels.Compilation;
using Xunit;

namespace Igcv3.Tests.Kernels;

public class PtxasReportTests
{
    // The shape of NVRTC 11.8's log with --ptxas-options=-v (two entries, the second spilling),
    // plus a non-inlined device function, which has properties but no register line of its own.
    const string Log = """
        ptxas info    : 0 bytes gmem
        ptxas info    : Function properties for _Z6helperf
        ptxas         .     8 bytes stack frame, 4 bytes spill stores, 4 bytes spill loads
        ptxas info    : Compiling entry function 'fill_f32' for 'sm_80'
        ptxas info    : Function properties for fill_f32
        ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
        ptxas info    : Used 10 registers, 372 bytes cmem[0]
        ptxas info    : Compiling entry function 'starved' for 'sm_80'
        ptxas info    : Function properties for starved
        ptxas         .     5960 bytes stack frame, 5952 bytes spill stores, 12152 bytes spill loads
        ptxas info    : Used 24 registers, 368 bytes cmem[0]
        """;

    [Fact]
    public void Parse_ReadsRegistersStackAndSpillsPerFunction()
    {
        var report = PtxasReport.Parse(Log);
        Assert.Equal(["_Z6helperf", "fill_f32", "starved"], report.Select(r => r.Function));
        Assert.Equal(new FunctionResources("_Z6helperf", false, null, null, 8, 4, 4), report[0]);
        Assert.Equal(new FunctionResources("fill_f32", true, "sm_80", 10, 0, 0, 0), report[1]);
        Assert.Equal(new FunctionResources("starved", true, "sm_80", 24, 5960, 5952, 12152), report[2]);
        Assert.Equal([true, false, true], report.Select(r => r.Spills));
    }

    [Fact]
    public void Parse_HandlesWindowsLineEndingsAndAnEmptyLog()
    {
        var report = PtxasReport.Parse(Log.Replace("\n", "\r\n"));
        Assert.Equal(10, report.Single(r => r.Function == "fill_f32").Registers);
        Assert.Empty(PtxasReport.Parse(""));
    }
}
