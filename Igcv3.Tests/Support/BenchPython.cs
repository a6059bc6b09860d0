using System.Diagnostics;
using Xunit;

namespace Igcv3.Tests.Support;

/// <summary>Runs the Python scripts of the checkout's Igcv3.Bench/pytorch, skipping (with the
/// reason) where the folder or an interpreter is not there.</summary>
internal static class BenchPython
{
    /// <summary>The checkout's Igcv3.Bench/pytorch, or a skip (a published copy has no checkout).</summary>
    public static string ScriptFolder()
    {
        var root = RepositoryRoot.Find();
        string? folder = root is null ? null : Path.Combine(root.FullName, "Igcv3.Bench", "pytorch");
        if (folder is null || !File.Exists(Path.Combine(folder, "sbs_core.py")))
            Assert.Skip("Igcv3.Bench/pytorch is not beside this test binary (a published copy): run from the checkout");
        return folder;
    }

    /// <summary>The first of python3 on PATH and the system's /usr/bin/python3 that imports every
    /// one of <paramref name="modules"/>, or a skip naming them. (Here PATH's python3 may be a
    /// pyenv build without Debian's python3-torch; on a GPU host it is PyTorch's.) Fails instead
    /// under IGCV3_REQUIRE_TORCH=1.</summary>
    public static string InterpreterWith(params string[] modules)
    {
        foreach (string python in new[] { "python3", "/usr/bin/python3" })
        {
            var (code, _) = Run(python, ".", "-c", string.Join("; ", modules.Select(m => $"import {m}")));
            if (code == 0) return python;
        }
        string message = $"no python3 here imports {string.Join(" and ", modules)} (install with .ci/install-torch-cpu.sh)";
        // .ci/run installs them and sets this, so that there a missing module fails instead of skipping.
        if (Environment.GetEnvironmentVariable("IGCV3_REQUIRE_TORCH") == "1") Assert.Fail(message);
        Assert.Skip(message);
        return "";
    }

    /// <summary>Runs <paramref name="python"/> in <paramref name="folder"/>; exit code and output
    /// (stdout then stderr); exit code -1 where the interpreter does not start.</summary>
    public static (int Code, string Output) Run(string python, string folder, params string[] args)
    {
        var start = new ProcessStartInfo(python) { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        Process? process;
        try
        {
            process = Process.Start(start);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, $"{python} did not start: {e.Message}");
        }
        using var running = process ?? throw new InvalidOperationException($"{python} did not start");
        var stdout = running.StandardOutput.ReadToEndAsync();
        string stderr = running.StandardError.ReadToEnd();
        running.WaitForExit();
        return (running.ExitCode, stdout.Result + stderr);
    }
}
