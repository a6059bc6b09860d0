using System.Diagnostics;
using Igcv3.Tests.Support;
using Xunit;

namespace Igcv3.Tests.Kernels;

/// <summary>
/// The kernel checks (kernels-cu/emulation/run.sh: every kernel against plain loops in double) built
/// three ways and run on every CI run: plain, under AddressSanitizer + UndefinedBehaviorSanitizer
/// (a read or write outside a kernel's buffers, undefined arithmetic) and under ThreadSanitizer
/// (each CUDA thread a thread, ordered only as CUDA orders them, so a missing __syncthreads is a
/// data race). These are the faults that only real hardware would otherwise show. About 40 s
/// each on 2 cores, most of it the compile; they run beside the rest of the suite.
/// </summary>
public sealed class KernelSanitizerTests
{
    [Theory]
    [InlineData("plain")]
    [InlineData("asan")]
    [InlineData("tsan")]
    public async Task KernelChecks_PassWithNoSanitizerReport(string flavour)
    {
        var root = RepositoryRoot.Find();
        if (root is null) Assert.Skip("not run from a checkout: the kernel checks build from kernels-cu/emulation");
        if (!OnPath("g++"))
        {
            if (Environment.GetEnvironmentVariable("IGCV3_REQUIRE_EMULATION") == "1") Assert.Fail("IGCV3_REQUIRE_EMULATION=1 but g++ is not on PATH");
            Assert.Skip("no g++ on PATH: the kernel checks need a host C++ compiler");
        }
        var start = new ProcessStartInfo("bash") { WorkingDirectory = root.FullName, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("kernels-cu/emulation/run.sh");
        start.ArgumentList.Add(flavour);
        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        string output = await process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        string all = output + await errors;
        // The first lines of a report name the kernel and the source line; the rest is stack.
        string excerpt = all.Length > 6000 ? all[..6000] : all;
        Assert.True(process.ExitCode == 0, $"kernels-cu/emulation/run.sh {flavour} exited {process.ExitCode}:\n{excerpt}");
        Assert.Matches(@"(?m)^\d+ checks, 0 failures$", output);
        Assert.DoesNotContain("Sanitizer", all);
        Assert.DoesNotContain("runtime error", all); // UBSan's word for a finding
    }

    private static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => d.Length > 0 && File.Exists(Path.Combine(d, program)));
}
