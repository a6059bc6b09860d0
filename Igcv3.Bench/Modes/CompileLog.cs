using System.Globalization;
using System.Text;
using Igcv3.Engine.IO;
using Igcv3.Kernels;
using Igcv3.Kernels.Compilation;

namespace Igcv3.Bench.Modes;

/// <summary>
/// `compile-log --out DIR [--arch N] [--fail-on-spills]`: every kernels-cu unit compiled by the
/// NVRTC the engine loads, for CUDA device 0's architecture (or sm_N with --arch, which needs no
/// GPU), through the engine's disk cache, so that a CUDA backend started next loads them without
/// compiling. Writes <c>nvrtc.txt</c> (NVRTC's version and file, target and options, then every
/// function's registers, stack frame and spills, the spilling ones listed again at the end) and
/// <c>nvrtc-full.log</c> (each unit's NVRTC log as it came).
/// <para>Spills are reported, not fatal, unless --fail-on-spills: a first GPU session shows them
/// once before anything demands none. Exit: 0 compiled, 1 a unit did not compile, 2 no NVRTC or
/// no architecture, 3 spills with --fail-on-spills.</para>
/// </summary>
public static class CompileLog
{
    public static int Run(string outFolder, int? architecture, bool failOnSpills, TextWriter log)
    {
        KernelCompiler compiler;
        try
        {
            compiler = KernelCompiler.CreateDefault();
        }
        catch (DllNotFoundException e)
        {
            log.WriteLine($"compile-log: {e.Message}");
            return 2;
        }

        GpuArchitecture arch;
        string archSource;
        if (architecture is { } number)
        {
            arch = GpuArchitecture.FromNumber(number);
            archSource = "--arch";
        }
        else if (CudaDevice.TryOpen(out var device, out var reason))
        {
            using (device)
            {
                arch = device!.Architecture;
                archSource = device.ToString();
            }
        }
        else
        {
            log.WriteLine($"compile-log: no CUDA device ({reason}); pass --arch N to compile for sm_N");
            return 2;
        }

        var units = EmbeddedKernelSources.Units;
        var modules = new CompiledModule?[units.Count];
        var failures = new string?[units.Count];
        // NVRTC is thread-safe; the backend compiles its units in parallel too.
        Parallel.For(0, units.Count, i =>
        {
            try
            {
                modules[i] = compiler.Compile(units[i], arch);
            }
            catch (NvrtcException e)
            {
                failures[i] = $"{units[i].Name}: {e.Message}";
            }
        });

        var (target, kind) = compiler.TargetFor(arch);
        var library = NativeLibraries.LoadedLibraries.LastOrDefault(l => l.Library == Interop.Libraries.Nvrtc)?.Path ?? "?";
        string header =
            $"NVRTC {compiler.NvrtcVersion.Major}.{compiler.NvrtcVersion.Minor} ({library}); targets sm_{string.Join(", sm_", compiler.SupportedArchitectures)}\n" +
            $"{arch} from {archSource}: {target} ({kind}); options {string.Join(' ', KernelCompiler.OptionsFor(target, kind, compiler.NvrtcVersion))}";
        var compiled = modules.OfType<CompiledModule>().ToList();
        var errors = failures.OfType<string>().ToList();

        Directory.CreateDirectory(outFolder);
        string table = Format(header, compiled, errors);
        AtomicFile.WriteAllText(Path.Combine(outFolder, "nvrtc.txt"), table);
        AtomicFile.WriteAllText(Path.Combine(outFolder, "nvrtc-full.log"), header + "\n\n" + string.Join("\n",
            compiled.Select(m => $"==== {m}\n{m.Log.TrimEnd()}\n").Concat(errors.Select(e => $"==== FAILED {e}\n"))));
        log.Write(table);

        if (errors.Count > 0) return 1;
        return failOnSpills && compiled.Any(m => m.Resources.Any(r => r.Spills)) ? 3 : 0;
    }

    /// <summary>The table of nvrtc.txt: one row per function ptxas reported (PTX targets have no
    /// report: the driver's JIT assembles them), spilling functions listed again at the end, and
    /// the last line "N functions, M spilling" (or the failures).</summary>
    public static string Format(string header, IReadOnlyList<CompiledModule> modules, IReadOnlyList<string> failures)
    {
        var ic = CultureInfo.InvariantCulture;
        var sb = new StringBuilder(header).Append("\n\n");
        sb.AppendLine(ic, $"{"unit",-16} {"function",-48} {"regs",5} {"stack",6} {"spill st",9} {"spill ld",9}");
        var rows = modules.OrderBy(m => m.UnitName, StringComparer.Ordinal)
            .SelectMany(m => m.Resources.Select(r => (m.UnitName, r))).ToList();
        foreach (var (unit, r) in rows)
        {
            sb.AppendLine(ic, $"{unit,-16} {r.Function + (r.IsEntry ? "" : " (device fn)"),-48} {r.Registers?.ToString(ic) ?? "-",5} " +
                $"{r.StackFrameBytes,6} {r.SpillStoreBytes,9} {r.SpillLoadBytes,9}");
        }
        foreach (var m in modules.Where(m => m.Kind == ImageKind.Ptx)) sb.AppendLine(ic, $"{m.UnitName}: PTX, registers known only after the driver's JIT");
        var spilling = rows.Where(row => row.r.Spills).ToList();
        foreach (var (unit, r) in spilling) sb.AppendLine(ic, $"SPILLS {unit} {r}");
        foreach (var failure in failures) sb.AppendLine(ic, $"FAILED {failure}");
        string failed = failures.Count > 0 ? $", {failures.Count} units failed to compile" : "";
        sb.AppendLine(ic, $"{modules.Count} units, {rows.Count} functions, {spilling.Count} spilling{failed}");
        return sb.ToString();
    }
}
