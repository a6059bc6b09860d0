using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Igcv3.Kernels;
using Xunit;

namespace Igcv3.Tests.Kernels;

/// <summary>
/// Our NCCL P/Invoke layer (Interop.Nccl) against a real nccl.h, without a GPU: every imported
/// function is declared there with the same parameters in the same order (each C# type mapped to
/// the C type it stands for), every enum member has the header's value, and the unique id has
/// NCCL_UNIQUE_ID_BYTES. The header is looked for where the library is (CUDA_PATH/include, the
/// pip wheel's nvidia/nccl/include, /usr/include, or NCCL_HEADER); without one the test skips
/// saying so, and IGCV3_REQUIRE_NCCL_HEADER=1 makes that a failure.
/// </summary>
public sealed partial class NcclHeaderTests
{
    /// <summary>The C type each C# parameter type of Interop.Nccl stands for.</summary>
    private static string CType(Type type, bool isOut)
    {
        if (isOut) return CType(type.GetElementType()!, false) + "*";
        if (type == typeof(int)) return "int";
        if (type == typeof(nuint)) return "size_t";
        if (type == typeof(ulong)) return "void*"; // a CUdeviceptr passed as a buffer pointer
        if (type == typeof(nint)) return "ncclComm_t";
        if (type == typeof(byte*)) return "char*";
        if (type.Name == "CudaStreamHandle") return "cudaStream_t";
        return type.Name switch
        {
            "Result" => "ncclResult_t",
            "DataType" => "ncclDataType_t",
            "RedOp" => "ncclRedOp_t",
            "UniqueId" => "ncclUniqueId",
            _ => throw new InvalidOperationException($"no C type for {type}"),
        };
    }

    private static Type Nccl => typeof(NativeLibraries).Assembly.GetType("Igcv3.Kernels.Interop+Nccl", throwOnError: true)!;

    /// <summary>Our imports as (name, C return type, C parameter types).</summary>
    private static List<(string Name, string Returns, string[] Parameters)> OurImports() =>
        Nccl.GetMethods(BindingFlags.NonPublic | BindingFlags.Static)
            .Where(m => m.GetCustomAttribute<LibraryImportAttribute>() is not null)
            .Select(m => (m.Name, CType(m.ReturnType, false),
                m.GetParameters().Select(p => CType(p.ParameterType.IsByRef ? p.ParameterType : p.ParameterType, p.ParameterType.IsByRef)).ToArray()))
            .ToList();

    /// <summary>Mismatches between our imports and enums and the header text; empty when they agree.</summary>
    internal static List<string> Mismatches(string header)
    {
        var problems = new List<string>();
        string text = BlockComment().Replace(LineComment().Replace(header, ""), "");
        var declared = new Dictionary<string, (string Returns, string[] Parameters)>();
        foreach (Match m in Prototype().Matches(text))
        {
            string returns = Normalise(m.Groups["ret"].Value);
            var parameters = m.Groups["params"].Value.Trim() is "" or "void" ? [] : m.Groups["params"].Value.Split(',').Select(ParameterType).ToArray();
            declared[m.Groups["name"].Value] = (returns, parameters);
        }
        var imports = OurImports();
        if (imports.Count == 0) problems.Add("no [LibraryImport] found in Interop.Nccl");
        foreach (var (name, returns, parameters) in imports)
        {
            if (!declared.TryGetValue(name, out var header_))
            {
                problems.Add($"{name} is not declared in nccl.h");
                continue;
            }
            if (header_.Returns != returns) problems.Add($"{name} returns {header_.Returns} in nccl.h, {returns} in ours");
            if (!header_.Parameters.SequenceEqual(parameters))
                problems.Add($"{name}({string.Join(", ", header_.Parameters)}) in nccl.h, ({string.Join(", ", parameters)}) in ours");
        }

        var enums = new Dictionary<string, Dictionary<string, long>>();
        foreach (Match m in EnumBlock().Matches(text))
        {
            var members = new Dictionary<string, long>();
            foreach (string item in m.Groups["body"].Value.Split(','))
            {
                var parts = item.Split('=', 2, StringSplitOptions.TrimEntries);
                if (parts.Length == 2 && TryInteger(parts[1], out long value)) members[parts[0]] = value;
            }
            enums[m.Groups["name"].Value] = members;
        }
        foreach (var (ours, theirs) in new[] { ("Result", "ncclResult_t"), ("DataType", "ncclDataType_t"), ("RedOp", "ncclRedOp_t") })
        {
            if (!enums.TryGetValue(theirs, out var members))
            {
                problems.Add($"enum {theirs} is not in nccl.h");
                continue;
            }
            var type = Nccl.GetNestedType(ours, BindingFlags.NonPublic)!;
            foreach (var name in Enum.GetNames(type))
            {
                long value = Convert.ToInt64(Enum.Parse(type, name));
                string c = "nccl" + name;
                if (!members.TryGetValue(c, out long expected)) problems.Add($"{theirs} has no {c}");
                else if (expected != value) problems.Add($"{theirs}.{c} is {expected} in nccl.h, {value} in ours");
            }
        }

        var idBytes = IdBytes().Match(text);
        int ourBytes = Marshal.SizeOf(Nccl.GetNestedType("UniqueId", BindingFlags.NonPublic)!);
        if (!idBytes.Success) problems.Add("NCCL_UNIQUE_ID_BYTES is not defined in nccl.h");
        else if (int.Parse(idBytes.Groups[1].Value) != ourBytes) problems.Add($"NCCL_UNIQUE_ID_BYTES is {idBytes.Groups[1].Value}, our UniqueId has {ourBytes} bytes");
        return problems;
    }

    /// <summary>"const void* sendbuff" → "void*": the type without its name, const, or spacing.</summary>
    private static string ParameterType(string parameter)
    {
        string p = Regex.Replace(parameter.Trim(), @"\s*\*\s*", "* ").Trim();
        var tokens = p.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(t => t != "const").ToList();
        if (tokens.Count > 1 && !tokens[^1].EndsWith('*')) tokens.RemoveAt(tokens.Count - 1); // the name
        return Normalise(string.Join(" ", tokens));
    }

    private static string Normalise(string type) => Regex.Replace(type.Replace("const", ""), @"\s+", "").Trim();

    private static bool TryInteger(string text, out long value)
    {
        text = text.Trim();
        return text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? long.TryParse(text[2..], System.Globalization.NumberStyles.HexNumber, null, out value)
            : long.TryParse(text, out value);
    }

    [GeneratedRegex(@"(?<ret>ncclResult_t|const\s+char\s*\*)\s*(?<name>nccl\w+)\s*\((?<params>[^;{]*?)\)\s*;")]
    private static partial Regex Prototype();

    [GeneratedRegex(@"typedef\s+enum\s*\{(?<body>[^}]*)\}\s*(?<name>\w+)\s*;")]
    private static partial Regex EnumBlock();

    [GeneratedRegex(@"#define\s+NCCL_UNIQUE_ID_BYTES\s+(\d+)")]
    private static partial Regex IdBytes();

    [GeneratedRegex(@"//[^\n]*")]
    private static partial Regex LineComment();

    [GeneratedRegex(@"/\*.*?\*/", RegexOptions.Singleline)]
    private static partial Regex BlockComment();

    /// <summary>nccl.h beside the library's probe folders (lib → include), in the system include folders, or at NCCL_HEADER.</summary>
    private static string? FindHeader()
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable("NCCL_HEADER") is { Length: > 0 } given) candidates.Add(given);
        candidates.AddRange(LibraryProbeFolders.For(Interop.Libraries.Nccl).Select(lib => Path.Combine(Path.GetDirectoryName(lib)!, "include", "nccl.h")));
        candidates.AddRange(["/usr/include/nccl.h", "/usr/local/include/nccl.h", "/usr/local/cuda/include/nccl.h"]);
        return candidates.FirstOrDefault(File.Exists);
    }

    [Fact]
    public void OurImportsAndEnums_AgreeWithTheInstalledNcclHeader()
    {
        string? header = FindHeader();
        if (header is null)
        {
            const string message = "no nccl.h on this machine (NVIDIA's libnccl-dev, or pip's nvidia-nccl wheel; or point NCCL_HEADER at one): the NCCL interop is not checked";
            if (Environment.GetEnvironmentVariable("IGCV3_REQUIRE_NCCL_HEADER") == "1") Assert.Fail(message);
            Assert.Skip(message);
        }
        var problems = Mismatches(File.ReadAllText(header));
        Assert.True(problems.Count == 0, $"{header}:\n{string.Join("\n", problems)}");
    }

    [Fact]
    public void TheChecker_FindsASwappedParameter_AWrongEnumValue_AndAMissingFunction()
    {
        // A header written for this test, wrong on purpose in three places: the checker must say so.
        const string header = """
            #define NCCL_UNIQUE_ID_BYTES 128
            typedef enum { ncclSuccess = 0, ncclUnhandledCudaError = 1, ncclSystemError = 2, ncclInternalError = 3,
                           ncclInvalidArgument = 4, ncclInvalidUsage = 5, ncclRemoteError = 6, ncclInProgress = 7 } ncclResult_t;
            typedef enum { ncclSum = 0, ncclProd = 1, ncclMax = 2, ncclMin = 3, ncclAvg = 5 } ncclRedOp_t;
            ncclResult_t ncclBroadcast(const void* sendbuff, void* recvbuff, size_t count, int root, ncclDataType_t datatype, ncclComm_t comm, cudaStream_t stream);
            ncclResult_t ncclGetVersion(int *version);
            """;
        var problems = Mismatches(header);
        Assert.Contains("ncclBroadcast(void*, void*, size_t, int, ncclDataType_t, ncclComm_t, cudaStream_t) in nccl.h, (void*, void*, size_t, ncclDataType_t, int, ncclComm_t, cudaStream_t) in ours", problems);
        Assert.Contains("ncclRedOp_t.ncclAvg is 5 in nccl.h, 4 in ours", problems);
        Assert.Contains("ncclAllReduce is not declared in nccl.h", problems);
        Assert.Contains("enum ncclDataType_t is not in nccl.h", problems);
        Assert.DoesNotContain(problems, p => p.StartsWith("ncclGetVersion", StringComparison.Ordinal));
    }
}
