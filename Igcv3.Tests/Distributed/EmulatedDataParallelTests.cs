using Igcv3.Engine;
using Igcv3.Engine.Distributed;
using Igcv3.Kernels.Cuda;
using Igcv3.Kernels.Distributed;
using Igcv3.Tests.Kernels.Parity;
using Xunit;

namespace Igcv3.Tests.Distributed;

/// <summary>
/// The data-parallel step on the CUDA backend, through emulated devices: one backend per rank (the
/// real launchers, streams and events), gradient buckets started on the communication stream as
/// backward completes them and joined before SGD, the emulated devices' communicator between them.
/// The emulated communication stream runs as late as a GPU may, and checks that nothing on the
/// compute stream touches a collective's buffer unordered, so a missing event either way shows as
/// a wrong weight or a named race. Same checks as <see cref="DataParallelStepTests"/> on the CPU:
/// 2 devices at batch b train as 1 at batch 2b (BN in eval mode, or --sync-bn in training mode).
/// </summary>
[Collection(EmulatedCollection.Name), Trait("device", "emulated")]
public sealed class EmulatedDataParallelTests(EmulatedFixture fixture)
{
    private static CudaBackend NewDevice() =>
        CudaBackend.TryCreateEmulated(out var backend, out string reason) ? backend! : throw new InvalidOperationException(reason);

    /// <summary><paramref name="body"/> on <paramref name="count"/> new emulated devices, a thread each, joined by one group.</summary>
    private static T[] OnDevices<T>(int count, Func<CudaBackend, ICommunicator, T> body, TimeSpan? timeout = null)
    {
        var backends = Enumerable.Range(0, count).Select(_ => NewDevice()).ToArray();
        var communicators = EmulatedDeviceCommunicator.CreateGroup(backends, timeout);
        try
        {
            return WorkerThreads.Run(count, i => body(backends[i], communicators[i]), (i, e) => communicators[i].Abort($"{e.GetType().Name}: {e.Message}"));
        }
        finally
        {
            foreach (var b in backends) b.Dispose();
        }
    }

    private static (float[] Values, float[] Buffers) OneDevice(int batch, bool training)
    {
        using var device = NewDevice();
        return DataParallelStepTests.Train(device, null, batch, training, syncBn: false);
    }

    [Fact]
    public void TwoDevicesAtBatchB_EvalModeBn_MatchOneDeviceAtBatch2B()
    {
        _ = fixture.BackendOrSkip();
        const int b = 2;
        var single = OneDevice(2 * b, training: false);
        var ranks = OnDevices(2, (device, c) => DataParallelStepTests.Train(device, c, b, training: false, syncBn: false));
        foreach (var r in ranks) DataParallelStepTests.AssertClose(single.Values, r.Values, 1e-5, "2 emulated devices' weights");
        Assert.Equal(ranks[0].Values, ranks[1].Values);
        // The CPU's two workers reduce in the same order: the same run within float tolerance.
        var cpu = WorkerThreads.Run(2, c => DataParallelStepTests.Train(Support.Make.Cpu, c, b, training: false, syncBn: false));
        DataParallelStepTests.AssertClose(cpu[0].Values, ranks[0].Values, 1e-5, "emulated devices against CPU workers");
    }

    [Fact]
    public void TwoDevices_SyncBnInTrainingMode_MatchOneDeviceWithTheDoubledBatch()
    {
        _ = fixture.BackendOrSkip();
        const int b = 3;
        var single = OneDevice(2 * b, training: true);
        var ranks = OnDevices(2, (device, c) => DataParallelStepTests.Train(device, c, b, training: true, syncBn: true));
        DataParallelStepTests.AssertClose(single.Values, ranks[0].Values, 2e-5, "sync-BN weights");
        DataParallelStepTests.AssertClose(single.Buffers, ranks[0].Buffers, 2e-5, "sync-BN running statistics");
        Assert.Equal(ranks[0].Values, ranks[1].Values);
        Assert.Equal(ranks[0].Buffers, ranks[1].Buffers);
        // Per-device statistics would not be the doubled batch: what makes this test meaningful.
        var perDevice = OnDevices(2, (device, c) => DataParallelStepTests.Train(device, c, b, training: true, syncBn: false));
        Assert.True(single.Values.Zip(perDevice[0].Values, (e, a) => Math.Abs(e - a)).Max() > 1e-4, "per-device BN statistics gave the doubled batch's weights");
    }

    [Fact]
    public void ADeviceWhoseWorkerFails_StopsTheOther_InsteadOfLeavingItInACollective()
    {
        _ = fixture.BackendOrSkip();
        var survivor = new Exception?[1];
        var failure = Assert.Throws<InvalidOperationException>(() => OnDevices(2, (device, c) =>
        {
            if (c.Rank == 1) throw new InvalidOperationException("worker 1 broke before its first step (injected)");
            try
            {
                return DataParallelStepTests.Train(device, c, 2, training: false, syncBn: false);
            }
            catch (Exception e)
            {
                survivor[0] = e;
                throw;
            }
        }, timeout: TimeSpan.FromMinutes(2)));
        Assert.Contains("worker 1 broke", failure.Message);
        var stopped = Assert.IsType<CommunicatorAbortedException>(survivor[0]);
        Assert.Contains("rank 1 failed", stopped.Message);
        Assert.Contains("worker 1 broke", stopped.Message);
    }
}
