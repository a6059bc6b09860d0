using Igcv3.Bench.Accounting;
using Igcv3.Engine;
using Igcv3.Engine.Distributed;
using Igcv3.Engine.Nn;
using Igcv3.Kernels.Cuda;
using Igcv3.Kernels.Distributed;
using Xunit;
using static Igcv3.Tests.Distributed.DataParallelStepTests;

namespace Igcv3.Tests.Distributed;

/// <summary>
/// What orders a data-parallel step's collectives against its kernels, read from two recording
/// queues' timelines (no GPU, no compiler: the launches are recorded, not run): every bucket's
/// all-reduce is queued on the communication stream behind a wait on an event recorded on the
/// compute stream after the last kernel that touches the bucket; all but the last bucket go out
/// while backward kernels are still to be queued (so on a GPU they run beside them); and the
/// compute stream waits on the communication stream's event once, before the SGD kernel.
/// </summary>
public sealed class CommunicationStreamOrderTests
{
    private sealed record Step(List<RecordingQueue.StreamCall> Timeline, List<RecordingQueue.Launched> Launches, int Buckets, int DuringBackward);

    private static Step[] RecordedSteps()
    {
        var queues = new[] { new RecordingQueue(), new RecordingQueue() };
        var backends = queues.Select(q => q.Backend()).ToArray();
        var communicators = EmulatedDeviceCommunicator.CreateGroup(backends, TimeSpan.FromMinutes(2));
        return WorkerThreads.Run(2, i =>
        {
            var (queue, backend) = (queues[i], backends[i]);
            var net = new SmallNet();
            var set = ParameterSet.Create(net, backend, seed: 3);
            var sgd = new Sgd(set, momentum: 0.9, weightDecay: 1e-3, exemptNoDecay: true);
            net.Train(false);
            var buckets = new GradientBuckets(set, communicators[i], bucketElements: 64);
            var (images, labels) = Data(4);
            using var scope = TensorScope.Begin();
            var x = Tensor.FromArray(backend, images.AsSpan(i * 2 * Height * Width * Channels, 2 * Height * Width * Channels).ToArray(), [2, Height, Width, Channels]);
            var loss = Ops.SoftmaxCrossEntropy(net.Forward(x), Tensor.FromArray(backend, labels.AsSpan(i * 2, 2).ToArray(), [2]), 0);
            set.ZeroGrad();
            int start = queue.Timeline.Count;
            buckets.Backward(loss);
            sgd.Step(0.1);
            return new Step(queue.Timeline.Skip(start).ToList(), queue.Launches, buckets.Views.Count, buckets.LaunchedDuringBackward);
        }, (i, e) => communicators[i].Abort(e.Message));
    }

    [Fact]
    public void BucketAllReduces_WaitForTheirKernels_OverlapTheRestOfBackward_AndSgdWaitsForThem()
    {
        var steps = RecordedSteps();
        foreach (var step in steps)
        {
            var t = step.Timeline;
            var collectives = Enumerable.Range(0, t.Count).Where(k => t[k] is RecordingQueue.CollectiveQueued).ToList();
            Assert.True(step.Buckets >= 3, $"only {step.Buckets} buckets");
            Assert.Equal(step.Buckets, collectives.Count);
            Assert.Equal(step.Buckets, step.DuringBackward);
            Assert.All(collectives, k => Assert.Equal(QueueStream.Communication, t[k].Stream));

            // The join: the compute stream waits on the event the communication stream recorded after the last collective.
            int last = collectives[^1];
            var done = Assert.IsType<RecordingQueue.EventRecorded>(t[last + 1]);
            Assert.Equal(QueueStream.Communication, done.Stream);
            int join = t.FindIndex(last, c => c is RecordingQueue.EventWaited { Stream: QueueStream.Compute } w && w.Event == done.Event);
            Assert.True(join > last, "the compute stream never waits for the collectives");
            var sgdLaunches = Enumerable.Range(0, t.Count).Where(k => t[k] is RecordingQueue.LaunchQueued l && step.Launches[l.Index].Kernel == "sgd_step").ToList();
            Assert.NotEmpty(sgdLaunches);
            Assert.All(sgdLaunches, k => Assert.True(k > join, $"sgd_step queued at {k}, before the join at {join}"));

            int overlapping = 0;
            foreach (int k in collectives)
            {
                var c = (RecordingQueue.CollectiveQueued)t[k];
                bool Touches(RecordingQueue.StreamCall call) => call is RecordingQueue.LaunchQueued l && step.Launches[l.Index] is var launched
                    && launched.Kinds.Select((kind, i) => (kind, i)).Any(a => a.kind == ArgKind.Pointer && launched.Bits[a.i] >= c.Address && launched.Bits[a.i] < c.Address + (ulong)(4 * c.Count));
                // Behind the latest wait of the communication stream on an event recorded on the compute stream...
                int wait = t.FindLastIndex(k, call => call is RecordingQueue.EventWaited { Stream: QueueStream.Communication });
                Assert.True(wait >= 0, $"{c.What}: the communication stream never waited on the compute stream");
                int evt = ((RecordingQueue.EventWaited)t[wait]).Event;
                int record = t.FindLastIndex(wait, call => call is RecordingQueue.EventRecorded r && r.Event == evt);
                Assert.True(record >= 0 && t[record].Stream == QueueStream.Compute, $"{c.What}: waits on an event not recorded on the compute stream");
                // ...recorded after every kernel that touches the bucket, and none touches it until the join.
                int lastToucher = t.FindLastIndex(k, Touches);
                Assert.True(lastToucher >= 0 && lastToucher < record, $"{c.What}: the kernel at {lastToucher} touches the bucket after the event at {record}");
                Assert.DoesNotContain(t.Skip(k + 1).Take(join - k - 1), Touches);
                if (t.Skip(k + 1).Take(join - k - 1).Any(call => call is RecordingQueue.LaunchQueued)) overlapping++;
            }
            // Only the bucket of the first layer's weights completes with the last backward kernel.
            Assert.Equal(step.Buckets - 1, overlapping);
        }
        // The ranks queue the same collectives in the same order (which is what matches them up).
        Assert.Equal(Whats(steps[0]), Whats(steps[1]));

        static string[] Whats(Step s) => [.. s.Timeline.OfType<RecordingQueue.CollectiveQueued>().Select(c => c.What)];
    }
}
