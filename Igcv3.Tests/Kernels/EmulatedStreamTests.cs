using System.Runtime.InteropServices;
using Igcv3.Kernels.Cuda;
using Igcv3.Kernels.Emulation;
using Igcv3.Tests.Kernels.Parity;
using Xunit;

namespace Igcv3.Tests.Kernels;

/// <summary>
/// The emulated device's two streams, at the queue: the communication stream runs a collective only
/// when the compute stream waits on an event recorded after it (or the host synchronises), as late
/// as a GPU may; a collective not ordered after the compute work that wrote its buffer, or a buffer
/// used before waiting for the collective, is a race that fails naming both; a wait on an event
/// never recorded is no wait (cuStreamWaitEvent's rule).
/// </summary>
[Collection(EmulatedCollection.Name), Trait("device", "emulated")]
public sealed unsafe class EmulatedStreamTests(EmulatedFixture fixture)
{
    private EmulatedDeviceLibrary Library()
    {
        _ = fixture.BackendOrSkip();
        Assert.True(EmulatedDeviceLibrary.TryGet(out var library, out string reason), reason);
        return library!;
    }

    private static uint Bits(float value) => BitConverter.SingleToUInt32Bits(value);

    private static float[] Download(EmulatedQueue queue, ulong address, int count)
    {
        var host = new float[count];
        fixed (float* p = host) queue.CopyDeviceToHost(p, address, count * sizeof(float));
        return host;
    }

    /// <summary>Multiplies every value by 3; says when it ran.</summary>
    private static CollectiveCall Tripling(List<string> log) => new("test all-reduce", null, values =>
    {
        log.Add("collective");
        foreach (ref float v in values) v *= 3;
    });

    [Fact]
    public void ACollectiveBehindAnEvent_RunsWhenTheComputeStreamWaitsForIt_AndSeesItsWrites()
    {
        var library = Library();
        using var queue = new EmulatedQueue(library);
        ulong buffer = library.Allocate(4 * sizeof(float)), other = library.Allocate(4 * sizeof(float));
        var log = new List<string>();
        using var ready = queue.CreateEvent();
        using var done = queue.CreateEvent();
        queue.MemsetD32(buffer, Bits(2), 4);
        queue.RecordEvent(ready, QueueStream.Compute);
        queue.WaitEvent(QueueStream.Communication, ready);
        queue.Collective(buffer, 4, Tripling(log));
        queue.RecordEvent(done, QueueStream.Communication);
        queue.MemsetD32(other, Bits(1), 4); // beside the collective: another buffer
        using var never = queue.CreateEvent();
        queue.WaitEvent(QueueStream.Compute, never); // never recorded: no wait
        Assert.Empty(log);
        queue.WaitEvent(QueueStream.Compute, done);
        Assert.Equal(["collective"], log);
        Assert.Equal([6f, 6f, 6f, 6f], Download(queue, buffer, 4));
        queue.Synchronize();
        library.Free(buffer);
        library.Free(other);
    }

    [Fact]
    public void ACollectiveWithoutAWaitOnTheComputeStream_IsARace()
    {
        var library = Library();
        using var queue = new EmulatedQueue(library);
        ulong buffer = library.Allocate(4 * sizeof(float));
        var log = new List<string>();
        queue.MemsetD32(buffer, Bits(2), 4);
        queue.Collective(buffer, 4, Tripling(log));
        var e = Assert.Throws<EmulatedKernelException>(queue.Synchronize);
        Assert.Contains("not ordered after the compute stream's earlier work", e.Message);
        Assert.Empty(log);
        library.Free(buffer);
    }

    [Fact]
    public void ComputeWorkThatWritesABucketBeforeItsEvent_OrReadsItBeforeTheJoin_IsARaceNamingIt()
    {
        var library = Library();
        using var queue = new EmulatedQueue(library);
        ulong buffer = library.Allocate(4 * sizeof(float));
        var log = new List<string>();
        using var ready = queue.CreateEvent();
        using var done = queue.CreateEvent();
        queue.MemsetD32(buffer, Bits(2), 4);
        queue.RecordEvent(ready, QueueStream.Compute);
        queue.WaitEvent(QueueStream.Communication, ready);
        queue.Collective(buffer, 4, Tripling(log));
        queue.RecordEvent(done, QueueStream.Communication);
        // Read without waiting for done: the values from before the collective, as a GPU may give.
        Assert.Equal([2f, 2f, 2f, 2f], Download(queue, buffer, 4));
        var e = Assert.Throws<EmulatedKernelException>(() => queue.WaitEvent(QueueStream.Compute, done));
        Assert.Contains("is not ordered against cuMemcpyDtoH", e.Message);
        Assert.Empty(log);
        library.Free(buffer);
    }

    [Fact]
    public void ACollectiveForTheDriver_IsRefusedOnTheEmulatedDevice_WithTheReason()
    {
        var library = Library();
        using var queue = new EmulatedQueue(library);
        var nccl = new CollectiveCall("nccl all-reduce of 4 values", (_, _) => { }, null);
        var e = Assert.Throws<InvalidOperationException>(() => queue.Collective(0, 4, nccl));
        Assert.Contains("NCCL needs a GPU", e.Message);
    }
}
