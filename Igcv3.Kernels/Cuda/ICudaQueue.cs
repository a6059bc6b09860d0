using static Igcv3.Kernels.Interop;

namespace Igcv3.Kernels.Cuda;

/// <summary>
/// Everything <see cref="CudaBackend"/> asks of the device, in the order it asks: kernel launches,
/// cuBLAS SGEMMs, memsets and copies, all queued on one stream (<see cref="QueueStream.Compute"/>);
/// collectives go on a second one (<see cref="QueueStream.Communication"/>), ordered against the
/// first only by events, so that a bucket's all-reduce runs beside the backward kernels queued
/// after it. The launchers' arithmetic (grids,
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

    /// <summary>A new event without timing (cuEventCreate with CU_EVENT_DISABLE_TIMING), unrecorded.</summary>
    IQueueEvent CreateEvent();

    /// <summary>cuEventRecord: the event marks the work queued on <paramref name="stream"/> so far;
    /// recording it again moves the mark (a wait already queued keeps the old one).</summary>
    void RecordEvent(IQueueEvent evt, QueueStream stream);

    /// <summary>cuStreamWaitEvent: the work queued on <paramref name="stream"/> from now on runs after
    /// the work that <paramref name="evt"/>'s latest record marked; a never-recorded event is no wait.</summary>
    void WaitEvent(QueueStream stream, IQueueEvent evt);

    /// <summary>Queues <paramref name="call"/> on the communication stream, over the
    /// <paramref name="count"/> floats at <paramref name="address"/>: NCCL's call is issued now with
    /// the stream's handle; on a queue whose device memory is host memory, the in-process
    /// communicator's call runs on the values when the stream reaches it. Ordered after the compute
    /// stream's work only by <see cref="WaitEvent"/>.</summary>
    void Collective(ulong address, long count, CollectiveCall call);

    /// <summary>Ends a capture that an exception interrupted, discarding it; does nothing when no
    /// capture is in progress. Never throws for the capture's own failure.</summary>
    void AbandonCapture();
}

/// <summary>The streams of a queue: the one every launch, SGEMM, memset and copy goes on, and
/// the one collectives go on (created at first use).</summary>
internal enum QueueStream { Compute, Communication }

/// <summary>An event of one queue (<see cref="ICudaQueue.CreateEvent"/>), for ordering its streams.</summary>
internal interface IQueueEvent : IDisposable;

/// <summary>The values of a collective, on a queue whose device memory is host memory: the call
/// reads them and writes the result in place.</summary>
internal delegate void HostCollective(Span<float> values);

/// <summary>A collective as each kind of queue runs it: <paramref name="OnStream"/> issues it, given
/// the buffer's device address, on the driver's communication stream (NCCL); <paramref name="OnHostValues"/> computes it where device
/// memory is host memory (the emulated device, the recording queue). A communicator gives the one
/// its queue can run; <paramref name="What"/> names it in errors and recordings.</summary>
internal sealed record CollectiveCall(string What, Action<ulong, CudaStreamHandle>? OnStream, HostCollective? OnHostValues)
{
    public Action<ulong, CudaStreamHandle> ForDriver => OnStream
        ?? throw new InvalidOperationException($"{What}: the in-process communicator needs a device whose memory is host memory (the emulated device); on a GPU, data-parallel training uses NCCL");

    public HostCollective ForHostMemory => OnHostValues
        ?? throw new InvalidOperationException($"{What}: NCCL needs a GPU; on the emulated device, data-parallel training uses the in-process communicator");
}
