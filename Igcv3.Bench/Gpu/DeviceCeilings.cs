using Igcv3.Bench.Timing;
using Igcv3.Kernels;
using static Igcv3.Kernels.Interop;

namespace Igcv3.Bench.Gpu;

/// <summary>The two ceilings every roofline figure is divided by, measured on the device in the
/// same run (METHOD.md: datasheet rates are leads): copy bandwidth counting bytes read plus
/// written, and the FP32 SGEMM rate through cuBLAS (IEEE FP32, no TF32), with the L2 size.</summary>
public sealed record DeviceCeilings(double CopyGBps, long CopyBytes, TimingResult Copy, double SgemmGflops, int SgemmSize, TimingResult Sgemm, long L2Bytes, int CublasVersion)
{
    /// <summary>Measures both on <paramref name="device"/>: a D2D copy of <paramref name="copyBytes"/>
    /// (default 1 GiB, far beyond the L2) and an n×n×n SGEMM (default 8192) on random data.</summary>
    internal static unsafe DeviceCeilings Measure(CudaDevice device, long copyBytes = 1L << 30, int n = 8192)
    {
        device.MakeCurrent();
        using var stream = CudaStreamHandle.Create(device.Context);
        var timer = new CudaEventTimer(device, stream, () => { });
        var plan = new TimingPlan(WarmupMs: 50, MinWarmup: 3, TargetMs: 300, MinReps: 10, MaxReps: 100);

        TimingResult copy;
        using (var a = DeviceMemoryHandle.Allocate(device.Context, copyBytes))
        using (var b = DeviceMemoryHandle.Allocate(device.Context, copyBytes))
        {
            // Bit patterns of ordinary floats (1.5f), not zeros.
            CudaDriver.MemsetD32Async(a.Pointer, BitConverter.SingleToUInt32Bits(1.5f), copyBytes / 4, stream);
            copy = timer.Time(() => CudaDriver.MemcpyDtoDAsync(b.Pointer, a.Pointer, copyBytes, stream), plan);
        }

        TimingResult sgemm;
        int version;
        long matrixBytes = (long)n * n * sizeof(float);
        using (var handle = CublasHandle.Create(device.Context))
        using (var a = DeviceMemoryHandle.Allocate(device.Context, matrixBytes))
        using (var b = DeviceMemoryHandle.Allocate(device.Context, matrixBytes))
        using (var c = DeviceMemoryHandle.Allocate(device.Context, matrixBytes))
        {
            Cublas.SetStream(handle, stream);
            Cublas.SetMathMode(handle, Cublas.MathMode.Pedantic); // IEEE FP32: no TF32 behind our back
            version = Cublas.GetVersion(handle);
            var random = new Random(3);
            var host = new float[(long)n * n];
            for (long i = 0; i < host.LongLength; i++) host[i] = (float)(random.NextDouble() * 2 - 1);
            fixed (float* p = host)
            {
                CudaDriver.MemcpyHtoDAsync(a.Pointer, p, matrixBytes, stream);
                CudaDriver.MemcpyHtoDAsync(b.Pointer, p, matrixBytes, stream);
                stream.Synchronize();
            }
            sgemm = timer.Time(() => Cublas.Sgemm(handle, Cublas.Operation.N, Cublas.Operation.N, n, n, n,
                1f, a.Pointer, n, b.Pointer, n, 0f, c.Pointer, n), plan with { TargetMs = 1000, MinReps = 5 });
        }

        long l2 = CudaDriver.DeviceAttribute(CudaDriver.DeviceGet(device.Ordinal), CudaDriver.CuDeviceAttribute.L2CacheSize);
        return new DeviceCeilings(
            CopyGBps: 2.0 * copyBytes / (copy.MedianMs * 1e-3) / 1e9, copyBytes, copy,
            SgemmGflops: 2.0 * n * n * (double)n / (sgemm.MedianMs * 1e-3) / 1e9, n, sgemm, l2, version);
    }
}
