using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Igcv3.Kernels;

internal static partial class Interop
{
    /// <summary>
    /// The CUDA driver API (libcuda), the subset the engine uses. Raw imports are private; each is
    /// reached through a wrapper that funnels its CUresult into <see cref="ThrowIfFailed"/>, except
    /// the few that must not throw (cuInit for probing, the releases called by SafeHandles).
    /// Handles: CUdevice is an int ordinal, CUdeviceptr a ulong, the rest opaque pointers.
    /// </summary>
    internal static unsafe partial class CudaDriver
    {
        static CudaDriver() => NativeLibraries.EnsureResolver();

        // ---- status funnel ----------------------------------------------------------------

        /// <summary>Throws a <see cref="CudaException"/> naming <paramref name="call"/> and the
        /// status (by cuGetErrorName) unless <paramref name="status"/> is CUDA_SUCCESS.</summary>
        internal static void ThrowIfFailed(CuResult status, [CallerArgumentExpression(nameof(status))] string? call = null)
        {
            if (status != CuResult.Success) throw Failure(status, call ?? "CUDA driver call");
        }

        internal static CudaException Failure(CuResult status, string call, string? detail = null) =>
            new(call, (int)status, ErrorName(status), ErrorDescription(status), detail);

        /// <summary>"CUDA_ERROR_OUT_OF_MEMORY" for 2; falls back to the number where the driver
        /// does not know the value.</summary>
        internal static string ErrorName(CuResult status) =>
            cuGetErrorName(status, out var text) == CuResult.Success && text != null
                ? Marshal.PtrToStringUTF8((nint)text) ?? $"CUresult {(int)status}"
                : $"CUresult {(int)status}";

        internal static string? ErrorDescription(CuResult status) =>
            cuGetErrorString(status, out var text) == CuResult.Success && text != null ? Marshal.PtrToStringUTF8((nint)text) : null;

        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuGetErrorName(CuResult error, out byte* name);
        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuGetErrorString(CuResult error, out byte* description);

        // ---- initialisation and devices ---------------------------------------------------

        /// <summary>cuInit(0), returning the status: probing must not throw.</summary>
        internal static CuResult TryInit() => cuInit(0);

        internal static int DriverVersion()
        {
            ThrowIfFailed(cuDriverGetVersion(out int version));
            return version;
        }

        internal static int DeviceCount()
        {
            ThrowIfFailed(cuDeviceGetCount(out int count));
            return count;
        }

        internal static int DeviceGet(int ordinal)
        {
            ThrowIfFailed(cuDeviceGet(out int device, ordinal));
            return device;
        }

        internal static string DeviceName(int device)
        {
            byte* buffer = stackalloc byte[256];
            ThrowIfFailed(cuDeviceGetName(buffer, 256, device));
            return Marshal.PtrToStringUTF8((nint)buffer) ?? "";
        }

        internal static int DeviceAttribute(int device, CuDeviceAttribute attribute)
        {
            ThrowIfFailed(cuDeviceGetAttribute(out int value, attribute, device));
            return value;
        }

        internal static long DeviceTotalMemory(int device)
        {
            ThrowIfFailed(cuDeviceTotalMem_v2(out nuint bytes, device));
            return (long)bytes;
        }

        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuInit(uint flags);
        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuDriverGetVersion(out int driverVersion);
        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuDeviceGetCount(out int count);
        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuDeviceGet(out int device, int ordinal);
        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuDeviceGetName(byte* name, int length, int device);
        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuDeviceGetAttribute(out int value, CuDeviceAttribute attribute, int device);
        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuDeviceTotalMem_v2(out nuint bytes, int device);

        // ---- contexts -----------------------------------------------------------------------

        /// <summary>Retains the device's primary context (the one the runtime API and cuBLAS share).</summary>
        internal static nint PrimaryContextRetain(int device)
        {
            ThrowIfFailed(cuDevicePrimaryCtxRetain(out nint context, device));
            return context;
        }

        internal static CuResult PrimaryContextRelease(int device) => cuDevicePrimaryCtxRelease_v2(device);

        internal static void SetCurrentContext(CudaContextHandle context) => ThrowIfFailed(cuCtxSetCurrent(context));

        /// <summary>Non-throwing form for SafeHandle releases on the finalizer thread.</summary>
        internal static CuResult TrySetCurrentContext(nint context) => cuCtxSetCurrent(context);

        /// <summary>(free, total) bytes of device memory, for the current context's device.</summary>
        internal static (long Free, long Total) MemoryInfo()
        {
            ThrowIfFailed(cuMemGetInfo_v2(out nuint free, out nuint total));
            return ((long)free, (long)total);
        }

        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuDevicePrimaryCtxRetain(out nint context, int device);
        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuDevicePrimaryCtxRelease_v2(int device);
        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuCtxSetCurrent(CudaContextHandle context);
        [LibraryImport(Libraries.CudaDriver, EntryPoint = "cuCtxSetCurrent")] private static partial CuResult cuCtxSetCurrent(nint context);
        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuMemGetInfo_v2(out nuint free, out nuint total);

        // ---- memory -------------------------------------------------------------------------

        internal static ulong MemAlloc(long bytes)
        {
            ThrowIfFailed(cuMemAlloc_v2(out ulong pointer, checked((nuint)bytes)));
            return pointer;
        }

        internal static CuResult MemFree(ulong pointer) => cuMemFree_v2(pointer);

        internal static void MemcpyHtoDAsync(ulong destination, void* source, long bytes, CudaStreamHandle stream) =>
            ThrowIfFailed(cuMemcpyHtoDAsync_v2(destination, source, checked((nuint)bytes), stream));

        internal static void MemcpyDtoHAsync(void* destination, ulong source, long bytes, CudaStreamHandle stream) =>
            ThrowIfFailed(cuMemcpyDtoHAsync_v2(destination, source, checked((nuint)bytes), stream));

        internal static void MemcpyDtoDAsync(ulong destination, ulong source, long bytes, CudaStreamHandle stream) =>
            ThrowIfFailed(cuMemcpyDtoDAsync_v2(destination, source, checked((nuint)bytes), stream));

        /// <summary>Sets <paramref name="count"/> 32-bit words (not bytes) to <paramref name="value"/>:
        /// float 0, or any float's bit pattern via BitConverter.SingleToUInt32Bits.</summary>
        internal static void MemsetD32Async(ulong destination, uint value, long count, CudaStreamHandle stream) =>
            ThrowIfFailed(cuMemsetD32Async(destination, value, checked((nuint)count), stream));

        /// <summary>Page-locked host memory (cuMemHostAlloc): a copy from it is a plain DMA the
        /// driver can queue without staging, so it never makes the host wait for the stream.</summary>
        internal static nint MemHostAlloc(long bytes)
        {
            ThrowIfFailed(cuMemHostAlloc(out nint pointer, checked((nuint)bytes), 0));
            return pointer;
        }

        internal static CuResult MemFreeHost(nint pointer) => cuMemFreeHost(pointer);

        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuMemHostAlloc(out nint pointer, nuint bytes, uint flags);
        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuMemFreeHost(nint pointer);
        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuMemAlloc_v2(out ulong pointer, nuint bytes);
        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuMemFree_v2(ulong pointer);
        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuMemcpyHtoDAsync_v2(ulong destination, void* source, nuint bytes, CudaStreamHandle stream);
        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuMemcpyDtoHAsync_v2(void* destination, ulong source, nuint bytes, CudaStreamHandle stream);
        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuMemcpyDtoDAsync_v2(ulong destination, ulong source, nuint bytes, CudaStreamHandle stream);
        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuMemsetD32Async(ulong destination, uint value, nuint count, CudaStreamHandle stream);

        // ---- streams and events ---------------------------------------------------------------

        internal static nint StreamCreate(uint flags)
        {
            ThrowIfFailed(cuStreamCreate(out nint stream, flags));
            return stream;
        }

        internal static CuResult StreamDestroy(nint stream) => cuStreamDestroy_v2(stream);

        internal static void StreamSynchronize(CudaStreamHandle stream) => ThrowIfFailed(cuStreamSynchronize(stream));

        internal static nint EventCreate(uint flags)
        {
            ThrowIfFailed(cuEventCreate(out nint evt, flags));
            return evt;
        }

        internal static CuResult EventDestroy(nint evt) => cuEventDestroy_v2(evt);

        internal static void EventRecord(CudaEventHandle evt, CudaStreamHandle stream) => ThrowIfFailed(cuEventRecord(evt, stream));

        internal static void EventSynchronize(CudaEventHandle evt) => ThrowIfFailed(cuEventSynchronize(evt));

        /// <summary>Work queued on <paramref name="stream"/> from now on waits for the work that the
        /// event's latest cuEventRecord marked (nothing, if it was never recorded); later records of
        /// the event do not affect this wait. Flags must be 0 (CU_EVENT_WAIT_DEFAULT).</summary>
        internal static void StreamWaitEvent(CudaStreamHandle stream, CudaEventHandle evt) => ThrowIfFailed(cuStreamWaitEvent(stream, evt, 0));

        /// <summary>Milliseconds between two recorded, completed events.</summary>
        internal static float EventElapsedTime(CudaEventHandle start, CudaEventHandle end)
        {
            ThrowIfFailed(cuEventElapsedTime(out float milliseconds, start, end));
            return milliseconds;
        }

        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuStreamCreate(out nint stream, uint flags);
        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuStreamDestroy_v2(nint stream);
        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuStreamSynchronize(CudaStreamHandle stream);
        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuEventCreate(out nint evt, uint flags);
        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuEventDestroy_v2(nint evt);
        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuEventRecord(CudaEventHandle evt, CudaStreamHandle stream);
        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuEventSynchronize(CudaEventHandle evt);
        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuEventElapsedTime(out float milliseconds, CudaEventHandle start, CudaEventHandle end);
        // CUresult cuStreamWaitEvent(CUstream hStream, CUevent hEvent, unsigned int Flags), as in cuda.h.
        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuStreamWaitEvent(CudaStreamHandle stream, CudaEventHandle evt, uint flags);

        // ---- stream capture and graphs --------------------------------------------------------
        // Signatures as declared in cuda.h (CUDA 12.6), where cuStreamBeginCapture is #defined to
        // cuStreamBeginCapture_v2 and cuGraphInstantiate to cuGraphInstantiateWithFlags; both
        // exports exist in every CUDA 12 and 13 driver (the latter since 11.4).

        /// <summary>Starts capturing the stream's work into a graph instead of running it.</summary>
        internal static void StreamBeginCapture(CudaStreamHandle stream, CuStreamCaptureMode mode) =>
            ThrowIfFailed(cuStreamBeginCapture_v2(stream, mode));

        /// <summary>Ends the capture; returns the status, since a capture that an unsupported call
        /// invalidated ends with CUDA_ERROR_STREAM_CAPTURE_INVALIDATED and no graph.</summary>
        internal static CuResult StreamEndCapture(CudaStreamHandle stream, out nint graph) => cuStreamEndCapture(stream, out graph);

        internal static nint GraphInstantiate(nint graph)
        {
            ThrowIfFailed(cuGraphInstantiateWithFlags(out nint exec, graph, 0));
            return exec;
        }

        internal static void GraphLaunch(CudaGraphExecHandle exec, CudaStreamHandle stream) => ThrowIfFailed(cuGraphLaunch(exec, stream));

        internal static CuResult GraphExecDestroy(nint exec) => cuGraphExecDestroy(exec);

        internal static CuResult GraphDestroy(nint graph) => cuGraphDestroy(graph);

        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuStreamBeginCapture_v2(CudaStreamHandle stream, CuStreamCaptureMode mode);
        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuStreamEndCapture(CudaStreamHandle stream, out nint graph);
        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuGraphInstantiateWithFlags(out nint graphExec, nint graph, ulong flags);
        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuGraphLaunch(CudaGraphExecHandle graphExec, CudaStreamHandle stream);
        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuGraphExecDestroy(nint graphExec);
        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuGraphDestroy(nint graph);

        // ---- modules, functions, launches ------------------------------------------------------

        /// <summary>
        /// Loads a CUBIN or NUL-terminated PTX image into the current context. The JIT's info log
        /// (verbose: for PTX it carries the same register/spill report as ptxas -v) is returned;
        /// on failure its error log goes into the exception's message.
        /// </summary>
        internal static nint ModuleLoadData(ReadOnlySpan<byte> image, out string infoLog)
        {
            const int logBytes = 16 * 1024;
            byte* info = stackalloc byte[logBytes];
            byte* error = stackalloc byte[logBytes];
            info[0] = 0;
            error[0] = 0;
            CuJitOption* options = stackalloc CuJitOption[]
            {
                CuJitOption.InfoLogBuffer, CuJitOption.InfoLogBufferSizeBytes,
                CuJitOption.ErrorLogBuffer, CuJitOption.ErrorLogBufferSizeBytes,
                CuJitOption.LogVerbose,
            };
            // Each option's value is passed in a pointer-sized slot; sizes are integers cast to
            // void*, and the driver writes back how many bytes of each log it filled.
            nint* values = stackalloc nint[] { (nint)info, logBytes, (nint)error, logBytes, 1 };
            CuResult status;
            nint module;
            fixed (byte* data = image)
            {
                status = cuModuleLoadDataEx(out module, data, 5, options, values);
            }
            infoLog = ReadLog(info, values[1], logBytes);
            if (status != CuResult.Success)
            {
                throw Failure(status, "cuModuleLoadDataEx(out module, image, 5, options, values)", ReadLog(error, values[3], logBytes));
            }
            return module;
        }

        static string ReadLog(byte* buffer, nint filled, int capacity)
        {
            int length = (int)Math.Clamp(filled, 0, capacity);
            var span = new ReadOnlySpan<byte>(buffer, length);
            int nul = span.IndexOf((byte)0);
            return Encoding.UTF8.GetString(nul >= 0 ? span[..nul] : span);
        }

        internal static CuResult ModuleUnload(nint module) => cuModuleUnload(module);

        internal static nint ModuleGetFunction(CudaModuleHandle module, string name)
        {
            ThrowIfFailed(cuModuleGetFunction(out nint function, module, name));
            return function;
        }

        /// <summary>Queues a kernel; <paramref name="arguments"/> holds one pointer per kernel
        /// parameter, each pointing at that parameter's value.</summary>
        internal static void LaunchKernel(CudaFunction function, Dim3 grid, Dim3 block, uint sharedBytes, CudaStreamHandle stream, void** arguments) =>
            ThrowIfFailed(cuLaunchKernel(function.Handle, grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z, sharedBytes, stream, arguments, null));

        /// <summary>The block size that maximises occupancy for <paramref name="function"/>, and
        /// the smallest grid that reaches it (dynamic shared memory fixed per block).</summary>
        internal static (int MinGridSize, int BlockSize) OccupancyMaxPotentialBlockSize(CudaFunction function, long dynamicSharedBytes = 0, int blockSizeLimit = 0)
        {
            ThrowIfFailed(cuOccupancyMaxPotentialBlockSize(out int minGridSize, out int blockSize, function.Handle, 0, checked((nuint)dynamicSharedBytes), blockSizeLimit));
            return (minGridSize, blockSize);
        }

        internal static int OccupancyMaxActiveBlocksPerMultiprocessor(CudaFunction function, int blockSize, long dynamicSharedBytes = 0)
        {
            ThrowIfFailed(cuOccupancyMaxActiveBlocksPerMultiprocessor(out int blocks, function.Handle, blockSize, checked((nuint)dynamicSharedBytes)));
            return blocks;
        }

        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuModuleLoadDataEx(out nint module, void* image, uint optionCount, CuJitOption* options, nint* optionValues);
        [LibraryImport(Libraries.CudaDriver)] private static partial CuResult cuModuleUnload(nint module);
        [LibraryImport(Libraries.CudaDriver, StringMarshalling = StringMarshalling.Utf8)] private static partial CuResult cuModuleGetFunction(out nint function, CudaModuleHandle module, string name);
        [LibraryImport(Libraries.CudaDriver)]
        private static partial CuResult cuLaunchKernel(nint function, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY, uint blockZ,
            uint sharedBytes, CudaStreamHandle stream, void** kernelParams, void** extra);
        // blockSizeToDynamicSMemSize is a callback pointer; passing 0 means "dynamicSharedBytes for every block size".
        [LibraryImport(Libraries.CudaDriver)]
        private static partial CuResult cuOccupancyMaxPotentialBlockSize(out int minGridSize, out int blockSize, nint function, nint blockSizeToDynamicSMemSize,
            nuint dynamicSharedBytes, int blockSizeLimit);
        [LibraryImport(Libraries.CudaDriver)]
        private static partial CuResult cuOccupancyMaxActiveBlocksPerMultiprocessor(out int blocks, nint function, int blockSize, nuint dynamicSharedBytes);
    }
}
