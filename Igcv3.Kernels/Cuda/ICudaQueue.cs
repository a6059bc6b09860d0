using static Igcv3.Kernels.Interop;

namespace Igcv3.Kernels.Cuda;

/// <summary>
/// Everything <see cref="CudaBackend"/> asks of the device, in the order it asks: kernel launches,
/// cuBLAS SGEMMs, memsets and copies, all queued on one stream. The launchers' arithmetic (grids,
/// argument lists, workspace sizes, SGEMM mapping) sits above this seam, so a test can run them
/// against a recording queue on a machine without a GPU; <see cref="DriverQueue"/> is the real one.
/// </summary>
internal interface ICudaQueue : IDisposable
{
    /// <summary>SM count: the launchers size their split reductions by it.</summary>
    int Multiprocessors { get; }

    /// <summary>Makes the device's context current on the calling thread.</summary>
    void MakeCurrent();

    /// <summary>Queues <paramref name="kernel"/> with 256-thread blocks and no dynamic shared
    /// memory; the arguments are already checked against its signature.</summary>
    void Launch(KernelSignature kernel, Dim3 grid, ReadOnlySpan<KernelArg> args);

    /// <summary>cublasSgemm_v2, column-major: C[m,n] = alpha·op(A)[m,k]·op(B)[k,n] + beta·C.</summary>
    void Sgemm(Cublas.Operation transA, Cublas.Operation transB, int m, int n, int k,
        float alpha, ulong a, int lda, ulong b, int ldb, float beta, ulong c, int ldc);

    /// <summary>cublasSgemmStridedBatched: <see cref="Sgemm"/> for batch i at a + i·strideA,
    /// b + i·strideB, c + i·strideC (element strides).</summary>
    void SgemmStridedBatched(Cublas.Operation transA, Cublas.Operation transB, int m, int n, int k,
        float alpha, ulong a, int lda, long strideA, ulong b, int ldb, long strideB, float beta, ulong c, int ldc, long strideC, int batchCount);

    /// <summary>Sets <paramref name="count"/> 32-bit words at <paramref name="destination"/>.</summary>
    void MemsetD32(ulong destination, uint value, long count);

    unsafe void CopyHostToDevice(ulong destination, void* source, long bytes);

    /// <summary>Returns once the bytes are on the host (the host reads them next).</summary>
    unsafe void CopyDeviceToHost(void* destination, ulong source, long bytes);

    void CopyDeviceToDevice(ulong destination, ulong source, long bytes);

    /// <summary>Waits for everything queued.</summary>
    void Synchronize();

    /// <summary>Device milliseconds of the work that <paramref name="enqueue"/> queues, between two
    /// events recorded around it; waits for that work (for autotuning, not inside a step).</summary>
    double TimeMilliseconds(Action enqueue);

    /// <summary>From now until <see cref="EndCapture"/>, kernels, SGEMMs, memsets and device-to-device
    /// copies are captured, not run (CUDA stream capture); uploads, downloads, waits and timing throw
    /// <see cref="StreamCapture.Refused"/>'s <see cref="StreamCaptureException"/>.</summary>
    void BeginCapture();

    /// <summary>The work queued since <see cref="BeginCapture"/>, to replay; throws
    /// <see cref="StreamCaptureException"/> where the driver invalidated the capture. The capture
    /// has ended either way.</summary>
    ICapturedWork EndCapture();

    /// <summary>Ends a capture that an exception interrupted, discarding it; does nothing when no
    /// capture is in progress. Never throws for the capture's own failure.</summary>
    void AbandonCapture();
}
