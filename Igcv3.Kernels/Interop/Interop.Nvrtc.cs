using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Igcv3.Kernels;

internal static partial class Interop
{
    /// <summary>
    /// NVRTC, the run-time CUDA C++ compiler: needs neither a GPU nor a driver, which is what lets
    /// the kernel compile tests run on a CPU-only machine. Raw imports are private; the wrappers
    /// check every status through <see cref="ThrowIfFailed"/>.
    /// </summary>
    internal static unsafe partial class Nvrtc
    {
        static Nvrtc() => NativeLibraries.EnsureResolver();

        /// <summary>nvrtcResult (nvrtc.h) by value; newer versions append values, named by nvrtcGetErrorString.</summary>
        static readonly string[] ResultNames =
        [
            "NVRTC_SUCCESS",
            "NVRTC_ERROR_OUT_OF_MEMORY",
            "NVRTC_ERROR_PROGRAM_CREATION_FAILURE",
            "NVRTC_ERROR_INVALID_INPUT",
            "NVRTC_ERROR_INVALID_PROGRAM",
            "NVRTC_ERROR_INVALID_OPTION",
            "NVRTC_ERROR_COMPILATION",
            "NVRTC_ERROR_BUILTIN_OPERATION_FAILURE",
            "NVRTC_ERROR_NO_NAME_EXPRESSIONS_AFTER_COMPILATION",
            "NVRTC_ERROR_NO_LOWERED_NAMES_BEFORE_COMPILATION",
            "NVRTC_ERROR_NAME_EXPRESSION_NOT_VALID",
            "NVRTC_ERROR_INTERNAL_ERROR",
        ];

        internal static string ResultName(int status) =>
            status >= 0 && status < ResultNames.Length ? ResultNames[status]
            : Marshal.PtrToStringUTF8((nint)nvrtcGetErrorString(status)) ?? $"nvrtcResult {status}";

        /// <summary>Throws an <see cref="NvrtcException"/> naming <paramref name="call"/> and the status.</summary>
        internal static void ThrowIfFailed(int status, [CallerArgumentExpression(nameof(status))] string? call = null)
        {
            if (status != 0) throw new NvrtcException(call ?? "NVRTC call", status, ResultName(status));
        }

        // ---- version and architectures ------------------------------------------------------

        /// <summary>The NVRTC version, or false when no NVRTC library loads. Never throws.</summary>
        internal static bool TryGetVersion(out (int Major, int Minor) version, out string reason)
        {
            version = default;
            if (!NativeLibraries.TryLoad(Libraries.Nvrtc, out _, out reason)) return false;
            try
            {
                int status = nvrtcVersion(out int major, out int minor);
                if (status != 0)
                {
                    reason = $"nvrtcVersion failed with {ResultName(status)}";
                    return false;
                }
                version = (major, minor);
                return true;
            }
            catch (EntryPointNotFoundException e)
            {
                reason = e.Message;
                return false;
            }
        }

        internal static (int Major, int Minor) Version()
        {
            NativeLibraries.Require(Libraries.Nvrtc);
            ThrowIfFailed(nvrtcVersion(out int major, out int minor));
            return (major, minor);
        }

        /// <summary>
        /// The virtual/real architectures (80 for sm_80) this NVRTC can target, ascending. Asks
        /// nvrtcGetSupportedArchs, which NVRTC has had since 11.2; for an older library the
        /// list is derived from its version instead (<see cref="ArchitecturesByVersion"/>).
        /// </summary>
        internal static int[] SupportedArchitectures()
        {
            var version = Version();
            try
            {
                ThrowIfFailed(nvrtcGetNumSupportedArchs(out int count));
                var architectures = new int[count];
                fixed (int* buffer = architectures) ThrowIfFailed(nvrtcGetSupportedArchs(buffer));
                Array.Sort(architectures);
                return architectures;
            }
            catch (EntryPointNotFoundException)
            {
                return ArchitecturesByVersion(version);
            }
        }

        /// <summary>The architectures an NVRTC older than 11.2 targets: 11.1 added sm_86, 11.0
        /// sm_80, 10.0 sm_75 (from the CUDA release notes); sm_35 to sm_72 are common to all.</summary>
        internal static int[] ArchitecturesByVersion((int Major, int Minor) version)
        {
            int newest = version switch
            {
                ( >= 11, >= 1) or ( > 11, _) => 86,
                (11, _) => 80,
                (10, _) => 75,
                _ => 72,
            };
            int[] known = [35, 37, 50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 86];
            return known.Where(a => a <= newest).ToArray();
        }

        // ---- compilation ------------------------------------------------------------------------

        /// <summary>
        /// Compiles <paramref name="source"/> (named <paramref name="name"/> in diagnostics) with
        /// <paramref name="headers"/> available to #include by name. Returns the CUBIN (or, when
        /// <paramref name="wantCubin"/> is false, the NUL-terminated PTX) and the compiler's log,
        /// which holds the ptxas -v report when that option was passed. A compile error throws an
        /// <see cref="NvrtcException"/> whose message carries the whole log.
        /// </summary>
        internal static (byte[] Image, string Log) Compile(string source, string name, IReadOnlyList<(string Name, string Text)> headers,
            IReadOnlyList<string> options, bool wantCubin)
        {
            NativeLibraries.Require(Libraries.Nvrtc);
            // NVRTC's front end and ptxas recurse deeply on large kernels (nvcc runs them on an 8 MB
            // main-thread stack); the 1.5 MB of a thread-pool thread overflows on our GEMM kernels
            // and kills the process. So every compile gets a thread of its own with a large stack.
            (byte[] Image, string Log) result = default;
            System.Runtime.ExceptionServices.ExceptionDispatchInfo? failure = null;
            var thread = new Thread(() =>
            {
                try
                {
                    result = CompileOnThisThread(source, name, headers, options, wantCubin);
                }
                catch (Exception e)
                {
                    failure = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e);
                }
            }, CompilerStackBytes) { Name = "nvrtc " + name, IsBackground = true };
            thread.Start();
            thread.Join();
            failure?.Throw();
            return result;
        }

        /// <summary>Stack for the compiling thread: 64 MB, eight times what nvcc runs with.</summary>
        const int CompilerStackBytes = 64 << 20;

        static (byte[] Image, string Log) CompileOnThisThread(string source, string name, IReadOnlyList<(string Name, string Text)> headers,
            IReadOnlyList<string> options, bool wantCubin)
        {
            using var strings = new Utf8Strings();
            byte** headerTexts = strings.Array(headers.Select(h => h.Text));
            byte** headerNames = strings.Array(headers.Select(h => h.Name));
            byte** optionTexts = strings.Array(options);
            using var program = new NvrtcProgramHandle();
            {
                ThrowIfFailed(nvrtcCreateProgram(out nint raw, strings.One(source), strings.One(name), headers.Count, headerTexts, headerNames));
                program.Adopt(raw);
            }
            int compiled = nvrtcCompileProgram(program, options.Count, optionTexts);
            string log = ProgramLog(program);
            if (compiled != 0)
            {
                throw new NvrtcException(
                    $"nvrtcCompileProgram({name}, {string.Join(" ", options)})", compiled, ResultName(compiled), log, log);
            }
            return (wantCubin ? Cubin(program) : Ptx(program), log);
        }

        static string ProgramLog(NvrtcProgramHandle program)
        {
            ThrowIfFailed(nvrtcGetProgramLogSize(program, out nuint size));
            var buffer = new byte[(int)size];
            fixed (byte* p = buffer) ThrowIfFailed(nvrtcGetProgramLog(program, p));
            return Encoding.UTF8.GetString(buffer).TrimEnd('\0');
        }

        static byte[] Cubin(NvrtcProgramHandle program)
        {
            ThrowIfFailed(nvrtcGetCUBINSize(program, out nuint size));
            if (size == 0)
            {
                // NVRTC returns an empty CUBIN when the target was a virtual architecture (compute_XX).
                throw new NvrtcException("nvrtcGetCUBINSize(program, out size)", 0, "empty CUBIN (was a compute_XX architecture given?)");
            }
            var cubin = new byte[(int)size];
            fixed (byte* p = cubin) ThrowIfFailed(nvrtcGetCUBIN(program, p));
            return cubin;
        }

        /// <summary>PTX text including its terminating NUL, as cuModuleLoadData needs it.</summary>
        static byte[] Ptx(NvrtcProgramHandle program)
        {
            ThrowIfFailed(nvrtcGetPTXSize(program, out nuint size));
            var ptx = new byte[(int)size];
            fixed (byte* p = ptx) ThrowIfFailed(nvrtcGetPTX(program, p));
            return ptx;
        }

        internal static int DestroyProgram(ref nint program) => nvrtcDestroyProgram(ref program);

        [LibraryImport(Libraries.Nvrtc)] private static partial byte* nvrtcGetErrorString(int result);
        [LibraryImport(Libraries.Nvrtc)] private static partial int nvrtcVersion(out int major, out int minor);
        [LibraryImport(Libraries.Nvrtc)] private static partial int nvrtcGetNumSupportedArchs(out int count);
        [LibraryImport(Libraries.Nvrtc)] private static partial int nvrtcGetSupportedArchs(int* architectures);
        [LibraryImport(Libraries.Nvrtc)]
        private static partial int nvrtcCreateProgram(out nint program, byte* source, byte* name, int headerCount, byte** headers, byte** includeNames);
        [LibraryImport(Libraries.Nvrtc)] private static partial int nvrtcCompileProgram(NvrtcProgramHandle program, int optionCount, byte** options);
        [LibraryImport(Libraries.Nvrtc)] private static partial int nvrtcGetProgramLogSize(NvrtcProgramHandle program, out nuint size);
        [LibraryImport(Libraries.Nvrtc)] private static partial int nvrtcGetProgramLog(NvrtcProgramHandle program, byte* log);
        [LibraryImport(Libraries.Nvrtc)] private static partial int nvrtcGetCUBINSize(NvrtcProgramHandle program, out nuint size);
        [LibraryImport(Libraries.Nvrtc)] private static partial int nvrtcGetCUBIN(NvrtcProgramHandle program, byte* cubin);
        [LibraryImport(Libraries.Nvrtc)] private static partial int nvrtcGetPTXSize(NvrtcProgramHandle program, out nuint size);
        [LibraryImport(Libraries.Nvrtc)] private static partial int nvrtcGetPTX(NvrtcProgramHandle program, byte* ptx);
        [LibraryImport(Libraries.Nvrtc)] private static partial int nvrtcDestroyProgram(ref nint program);

        /// <summary>NUL-terminated UTF-8 copies of managed strings (and arrays of them) that live
        /// until disposed: the char** arguments NVRTC takes.</summary>
        sealed class Utf8Strings : IDisposable
        {
            readonly List<nint> allocations = [];

            public byte* One(string text)
            {
                var p = Marshal.StringToCoTaskMemUTF8(text);
                allocations.Add(p);
                return (byte*)p;
            }

            public byte** Array(IEnumerable<string> texts)
            {
                var items = texts.ToArray();
                var array = (byte**)Marshal.AllocCoTaskMem(Math.Max(1, items.Length) * sizeof(nint));
                allocations.Add((nint)array);
                for (int i = 0; i < items.Length; i++) array[i] = One(items[i]);
                return array;
            }

            public void Dispose()
            {
                foreach (var p in allocations) Marshal.FreeCoTaskMem(p);
                allocations.Clear();
            }
        }
    }
}

/// <summary>An nvrtcProgram (nvrtcCreateProgram / nvrtcDestroyProgram).</summary>
internal sealed class NvrtcProgramHandle : SafeHandle
{
    public NvrtcProgramHandle() : base(0, ownsHandle: true) { }

    public override bool IsInvalid => handle == 0;

    internal void Adopt(nint program) => SetHandle(program);

    protected override bool ReleaseHandle()
    {
        nint program = handle;
        return Interop.Nvrtc.DestroyProgram(ref program) == 0;
    }
}
