using System.Diagnostics;
using System.Runtime.InteropServices;
using Igcv3.Kernels.Cuda;
using static Igcv3.Kernels.Interop;

namespace Igcv3.Kernels.Emulation;

/// <summary>
/// An <see cref="ICudaQueue"/> that really runs the kernels, on the CPU: each launch goes, with the
/// grid and the argument slots exactly as <see cref="CudaBackend"/>'s launchers built them, to the
/// emulated device (<see cref="EmulatedDeviceLibrary"/>), which runs every block and thread of the
/// grid to completion before returning. Device memory is the library's guarded host memory; memsets
/// and copies are bounds-checked against the allocation they touch, and cuBLAS's SGEMMs are
/// interpreted (<see cref="SgemmInterpreter"/>). Work is done when a call returns, so there is
/// nothing to synchronise, and "device time" is the host's wall-clock time of the emulation.
/// A failed launch throws <see cref="EmulatedKernelException"/> naming the kernel, the launch and
/// what went wrong.
/// <para>Stream capture records each launch (kernel, grid, argument bits), SGEMM, memset and
/// device-to-device copy as it is queued, without running it, and a replay runs them again in
/// order, bounds- and address-checked at each run as a first run is: so that CI checks, without a
/// GPU, that a replayed step computes what an eager one does, and that nothing it touches was
/// freed in between.</para>
/// </summary>
internal sealed unsafe class EmulatedQueue(EmulatedDeviceLibrary device, int multiprocessors = 8) : ICudaQueue
{
    private long _launches;
    private List<Action>? _captured; // null: not capturing

    /// <summary>A CUDA backend over a new emulated queue. Its allocator does not cache, so every
    /// tensor has its own guarded allocation, ending at its last element.</summary>
    public static CudaBackend Backend(EmulatedDeviceLibrary device)
    {
        var queue = new EmulatedQueue(device);
        return new CudaBackend(queue, new CachingAllocator(device.Allocate, device.Free, () => { }, caching: false), "cuda:emulated (kernels-cu on the CPU)");
    }

    /// <summary>Small, so that the split reductions the launchers size by it run few blocks, but
    /// more than one, so that their partial sums and reductions are exercised.</summary>
    public int Multiprocessors { get; } = multiprocessors;

    /// <summary>Kernels launched so far; a failure names its number.</summary>
    public long Launches => _launches;

    public void MakeCurrent() { }

    public void Launch(KernelSignature kernel, Dim3 grid, ReadOnlySpan<KernelArg> args)
    {
        if (_captured is not null)
        {
            var copy = args.ToArray();
            _captured.Add(() => Run(kernel, grid, copy));
            return;
        }
        Run(kernel, grid, args);
    }

    private void Run(KernelSignature kernel, Dim3 grid, ReadOnlySpan<KernelArg> args)
    {
        long number = ++_launches;
        Span<ulong> slots = stackalloc ulong[args.Length];
        for (int i = 0; i < args.Length; i++)
        {
            slots[i] = args[i].Bits;
            if (args[i].Kind == ArgKind.Pointer && args[i].Bits != 0 && device.BytesFrom(args[i].Bits) < 0)
            {
                throw new EmulatedKernelException($"kernel {kernel.Name} (launch #{number}): argument {i}, 0x{args[i].Bits:x}, is not in device memory");
            }
        }
        string? failure = device.Launch(kernel, grid, DriverQueue.BlockThreads, slots);
        if (failure is not null) throw new EmulatedKernelException($"kernel {kernel.Name} (launch #{number}, grid {grid.X}x{grid.Y}x{grid.Z}) failed on the emulated device: {failure}");
    }

    public void Sgemm(Cublas.Operation transA, Cublas.Operation transB, int m, int n, int k,
        float alpha, ulong a, int lda, ulong b, int ldb, float beta, ulong c, int ldc) =>
        RunOrCapture(() => SgemmInterpreter.Sgemm(Floats, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc));

    public void SgemmStridedBatched(Cublas.Operation transA, Cublas.Operation transB, int m, int n, int k,
        float alpha, ulong a, int lda, long strideA, ulong b, int ldb, long strideB, float beta, ulong c, int ldc, long strideC, int batchCount) =>
        RunOrCapture(() => SgemmInterpreter.SgemmStridedBatched(Floats, transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batchCount));

    public void MemsetD32(ulong destination, uint value, long count) =>
        RunOrCapture(() => MemoryMarshal.Cast<byte, uint>(Bytes("cuMemsetD32", destination, count * 4)).Fill(value));

    public void CopyHostToDevice(ulong destination, void* source, long bytes)
    {
        if (_captured is not null) throw StreamCapture.Refused(StreamCapture.Upload);
        new ReadOnlySpan<byte>(source, checked((int)bytes)).CopyTo(Bytes("cuMemcpyHtoD", destination, bytes));
    }

    public void CopyDeviceToHost(void* destination, ulong source, long bytes)
    {
        if (_captured is not null) throw StreamCapture.Refused(StreamCapture.Download);
        Bytes("cuMemcpyDtoH", source, bytes).CopyTo(new Span<byte>(destination, checked((int)bytes)));
    }

    public void CopyDeviceToDevice(ulong destination, ulong source, long bytes) =>
        RunOrCapture(() => Bytes("cuMemcpyDtoD", source, bytes).CopyTo(Bytes("cuMemcpyDtoD", destination, bytes)));

    public void Synchronize()
    {
        if (_captured is not null) throw StreamCapture.Refused(StreamCapture.Wait);
    }

    public void BeginCapture()
    {
        if (_captured is not null) throw new InvalidOperationException("a stream capture is already in progress");
        _captured = [];
    }

    public ICapturedWork EndCapture()
    {
        var calls = _captured ?? throw new InvalidOperationException("no stream capture is in progress");
        _captured = null;
        return new Replayed([.. calls]);
    }

    public void AbandonCapture() => _captured = null;

    private void RunOrCapture(Action call)
    {
        if (_captured is not null) _captured.Add(call);
        else call();
    }

    /// <summary>The captured calls, run again in their order at each replay.</summary>
    private sealed class Replayed(Action[] calls) : ICapturedWork
    {
        private bool _disposed;

        public void Replay()
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            foreach (var call in calls) call();
        }

        public void Dispose() => _disposed = true;
    }

    public double TimeMilliseconds(Action enqueue)
    {
        if (_captured is not null) throw StreamCapture.Refused(StreamCapture.Timing);
        long start = Stopwatch.GetTimestamp();
        enqueue();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    public void Dispose() { }

    private Span<float> Floats(ulong address, long count) => MemoryMarshal.Cast<byte, float>(Bytes("cuBLAS", address, count * sizeof(float)));

    /// <summary>The device bytes [address, address + bytes), which must lie in one allocation.</summary>
    private Span<byte> Bytes(string call, ulong address, long bytes)
    {
        long available = device.BytesFrom(address);
        if (available < 0) throw new EmulatedKernelException($"{call}: 0x{address:x} is not in device memory");
        if (bytes > available) throw new EmulatedKernelException($"{call}: {bytes} bytes at 0x{address:x} run {bytes - available} bytes past the end of its allocation");
        return new Span<byte>((void*)address, checked((int)bytes));
    }
}

/// <summary>A kernel, copy or SGEMM that did something on the emulated device that would be a
/// fault or undefined on a GPU.</summary>
public sealed class EmulatedKernelException(string message) : InvalidOperationException(message);
