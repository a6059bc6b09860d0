namespace Igcv3.Kernels;

internal static partial class Interop
{
    internal static partial class CudaDriver
    {
        /// <summary>CUresult. Only the values this code branches on are named; every other
        /// value is named at run time by cuGetErrorName.</summary>
        internal enum CuResult
        {
            Success = 0,
            NotInitialized = 3,
            Deinitialized = 4,
            /// <summary>The toolkit's link-time stub libcuda was loaded instead of a driver.</summary>
            StubLibrary = 34,
            NoDevice = 100,
        }

        /// <summary>CUdevice_attribute (cuda.h): the attributes the engine reads.</summary>
        internal enum CuDeviceAttribute
        {
            MaxThreadsPerBlock = 1,
            MaxSharedMemoryPerBlock = 8,
            WarpSize = 10,
            MaxRegistersPerBlock = 12,
            MultiprocessorCount = 16,
            MemoryClockRate = 36,
            GlobalMemoryBusWidth = 37,
            L2CacheSize = 38,
            MaxThreadsPerMultiprocessor = 39,
            ComputeCapabilityMajor = 75,
            ComputeCapabilityMinor = 76,
            MaxSharedMemoryPerMultiprocessor = 81,
            MaxRegistersPerMultiprocessor = 82,
            MaxSharedMemoryPerBlockOptin = 97,
        }

        /// <summary>CUjit_option (cuda.h): the options used to capture the JIT logs of cuModuleLoadDataEx.</summary>
        internal enum CuJitOption
        {
            InfoLogBuffer = 3,
            InfoLogBufferSizeBytes = 4,
            ErrorLogBuffer = 5,
            ErrorLogBufferSizeBytes = 6,
            LogVerbose = 12,
        }

        /// <summary>CUstreamCaptureMode (cuda.h). Thread-local: a call on the capturing thread that
        /// is not allowed during capture (cuMemAlloc, a synchronisation) fails and invalidates the
        /// capture, while other threads are left alone.</summary>
        internal enum CuStreamCaptureMode
        {
            Global = 0,
            ThreadLocal = 1,
            Relaxed = 2,
        }

        /// <summary>CU_STREAM_NON_BLOCKING: the stream does not synchronise with the legacy default stream.</summary>
        internal const uint StreamNonBlocking = 0x1;

        /// <summary>CU_EVENT_DEFAULT: an event that records timing.</summary>
        internal const uint EventDefault = 0x0;

        /// <summary>CU_EVENT_DISABLE_TIMING: an event only waited on (cheaper to record and query).</summary>
        internal const uint EventDisableTiming = 0x2;
    }
}

/// <summary>A CUDA launch dimension (gridDim or blockDim).</summary>
internal readonly record struct Dim3(uint X, uint Y = 1, uint Z = 1)
{
    public override string ToString() => $"({X}, {Y}, {Z})";
}
