using System.Globalization;
using System.Text.RegularExpressions;

namespace Igcv3.Kernels.Compilation;

/// <summary>
/// What ptxas reported for one function: registers per thread (entry functions only), stack
/// frame, and spill traffic in bytes. Spills mean the kernel ran out of registers and goes
/// through local memory, which is why the compile tests demand zero.
/// </summary>
public sealed record FunctionResources(string Function, bool IsEntry, string? Architecture, int? Registers,
    int StackFrameBytes, int SpillStoreBytes, int SpillLoadBytes)
{
    public bool Spills => SpillStoreBytes > 0 || SpillLoadBytes > 0;

    public override string ToString() =>
        $"{Function}: {Registers?.ToString(CultureInfo.InvariantCulture) ?? "?"} registers, {StackFrameBytes} bytes stack, " +
        $"{SpillStoreBytes} bytes spill stores, {SpillLoadBytes} bytes spill loads";
}

/// <summary>
/// Parses the resource report that `--ptxas-options=-v` adds to the NVRTC log (and that the
/// driver's JIT writes to its info log with CU_JIT_LOG_VERBOSE). The lines look like
/// <code>
/// ptxas info    : Compiling entry function 'fill_f32' for 'sm_80'
/// ptxas info    : Function properties for fill_f32
/// ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
/// ptxas info    : Used 10 registers, 372 bytes cmem[0]
/// </code>
/// "Function properties" also appears for non-inlined device functions, which have no
/// "Compiling entry function" line and no register count of their own.
/// </summary>
public static partial class PtxasReport
{
    public static IReadOnlyList<FunctionResources> Parse(string log)
    {
        var functions = new Dictionary<string, FunctionResources>(StringComparer.Ordinal);
        var order = new List<string>();
        string? entry = null;       // the entry function whose "Used N registers" comes next
        string? properties = null;  // the function whose stack/spill line comes next

        FunctionResources Get(string name)
        {
            if (!functions.TryGetValue(name, out var f))
            {
                f = new FunctionResources(name, false, null, null, 0, 0, 0);
                functions[name] = f;
                order.Add(name);
            }
            return f;
        }

        foreach (var line in log.Split('\n'))
        {
            if (EntryLine().Match(line) is { Success: true } e)
            {
                entry = e.Groups["name"].Value;
                functions[entry] = Get(entry) with { IsEntry = true, Architecture = e.Groups["arch"].Value };
            }
            else if (PropertiesLine().Match(line) is { Success: true } p)
            {
                properties = p.Groups["name"].Value;
                Get(properties);
            }
            else if (SpillLine().Match(line) is { Success: true } s && properties != null)
            {
                functions[properties] = Get(properties) with
                {
                    StackFrameBytes = Int(s, "stack"),
                    SpillStoreBytes = Int(s, "stores"),
                    SpillLoadBytes = Int(s, "loads"),
                };
                properties = null;
            }
            else if (RegistersLine().Match(line) is { Success: true } r && entry != null)
            {
                functions[entry] = Get(entry) with { Registers = Int(r, "registers") };
                entry = null;
            }
        }
        return order.Select(name => functions[name]).ToArray();
    }

    static int Int(Match match, string group) => int.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"Compiling entry function '(?<name>[^']+)' for '(?<arch>[^']+)'")]
    private static partial Regex EntryLine();

    [GeneratedRegex(@"Function properties for (?<name>\S+)")]
    private static partial Regex PropertiesLine();

    [GeneratedRegex(@"(?<stack>\d+) bytes stack frame, (?<stores>\d+) bytes spill stores, (?<loads>\d+) bytes spill loads")]
    private static partial Regex SpillLine();

    [GeneratedRegex(@"Used (?<registers>\d+) registers")]
    private static partial Regex RegistersLine();
}
