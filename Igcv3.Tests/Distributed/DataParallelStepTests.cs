using Igcv3.Engine;
using Igcv3.Engine.Distributed;
using Igcv3.Engine.Nn;
using Igcv3.Tests.Support;
using Xunit;

namespace Igcv3.Tests.Distributed;

/// <summary>
/// The data-parallel step on the CPU backend with the thread communicator: W workers at batch b,
/// each its own copy of the network, gradients averaged in buckets during backward, then the same
/// SGD step, end with the weights of one worker at batch W·b, where that is exact: BN in eval
/// mode (per-rank statistics would differ by design) or --sync-bn in training mode.
/// </summary>
public sealed class DataParallelStepTests
{
    internal sealed class SmallNet : Module
    {
        private readonly Sequential _body;

        public SmallNet() => _body = Add("body", new Sequential(
            new Conv2d(3, 8, kernel: 3, padding: 1),
            new BatchNorm(8, Activation.Relu6),
            new PointwiseConv(8, 8, groups: 2, outputShuffle: 2),
            new BatchNorm(8),
            new DepthwiseConv3x3(8, stride: 2),
            new BatchNorm(8, Activation.Relu6),
            new GlobalAvgPool(),
            new Linear(8, 4)));

        public override Tensor Forward(Tensor x) => _body.Forward(x);
    }

    internal const int Height = 6, Width = 6, Channels = 3;

    internal static (float[] Images, int[] Labels) Data(int count)
    {
        var images = Make.Random([count, Height, Width, Channels], seed: 7, DType.F32).ToFloatArray();
        var labels = Make.Labels(count, 4, seed: 8).ToIntArray();
        return (images, labels);
    }

    /// <summary>Two SGD steps (momentum, weight decay, the second step using the momentum of the
    /// first) on rank <paramref name="rank"/>'s contiguous share of the batch; returns its
    /// parameters and buffers after them.</summary>
    internal static (float[] Values, float[] Buffers) Train(IBackend backend, ICommunicator? communicator, int batchPerRank, bool training, bool syncBn, long bucketElements = 64)
    {
        int rank = communicator?.Rank ?? 0;
        var net = new SmallNet();
        var set = ParameterSet.Create(net, backend, seed: 3);
        var sgd = new Sgd(set, momentum: 0.9, weightDecay: 1e-3, exemptNoDecay: true);
        net.Train(training);
        if (syncBn) SyncBatchNorm.Enable(net, communicator);
        var buckets = communicator is null ? null : new GradientBuckets(set, communicator, bucketElements);
        var (images, labels) = Data(16);
        for (int step = 0; step < 2; step++)
        {
            using var scope = TensorScope.Begin();
            int first = (step * 8 + rank * batchPerRank) % 16;
            var x = Tensor.FromArray(backend, images.AsSpan(first * Height * Width * Channels, batchPerRank * Height * Width * Channels).ToArray(), [batchPerRank, Height, Width, Channels]);
            var y = Tensor.FromArray(backend, labels.AsSpan(first, batchPerRank).ToArray(), [batchPerRank]);
            var loss = Ops.SoftmaxCrossEntropy(net.Forward(x), y, 0.1);
            set.ZeroGrad();
            if (buckets is null) loss.Backward();
            else buckets.Backward(loss);
            sgd.Step(0.2);
        }
        return (set.Values.ToFloatArray(), set.Buffers.ToFloatArray());
    }

    internal static void AssertClose(float[] expected, float[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = 0;
        int at = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double d = Math.Abs(expected[i] - actual[i]) / (1 + Math.Abs(expected[i]));
            if (d > worst) (worst, at) = (d, i);
        }
        Assert.True(worst <= tolerance, $"{what}: element {at} is {actual[at]}, expected {expected[at]} (relative difference {worst:G3} > {tolerance:G3})");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void WorkersAtBatchB_EvalModeBn_MatchOneWorkerAtBatchWB(int workers)
    {
        const int b = 2;
        var single = Train(Make.Cpu, null, workers * b, training: false, syncBn: false);
        var ranks = WorkerThreads.Run(workers, c => Train(Make.Cpu, c, b, training: false, syncBn: false));
        foreach (var r in ranks) AssertClose(single.Values, r.Values, 1e-5, $"{workers} workers' weights");
        // Every rank holds the same bits: the reduced gradients are the same, and so is SGD.
        Assert.All(ranks, r => Assert.Equal(ranks[0].Values, r.Values));
        // And the run is bit-for-bit repeatable: the reduction order is fixed.
        Assert.Equal(ranks[0].Values, WorkerThreads.Run(workers, c => Train(Make.Cpu, c, b, training: false, syncBn: false))[0].Values);
    }

    [Fact]
    public void TwoWorkers_SyncBnInTrainingMode_MatchOneWorkerWithTheDoubledBatch()
    {
        const int b = 3;
        var single = Train(Make.Cpu, null, 2 * b, training: true, syncBn: false);
        var ranks = WorkerThreads.Run(2, c => Train(Make.Cpu, c, b, training: true, syncBn: true));
        AssertClose(single.Values, ranks[0].Values, 2e-5, "sync-BN weights");
        AssertClose(single.Buffers, ranks[0].Buffers, 2e-5, "sync-BN running statistics");
        Assert.Equal(ranks[0].Values, ranks[1].Values);
        Assert.Equal(ranks[0].Buffers, ranks[1].Buffers);
    }

    [Fact]
    public void TwoWorkers_PerRankBnInTrainingMode_DifferFromTheDoubledBatch()
    {
        // The default (per-GPU statistics, as the official MXNet training) is not the doubled batch:
        // what makes the sync-BN test above meaningful.
        const int b = 3;
        var single = Train(Make.Cpu, null, 2 * b, training: true, syncBn: false);
        var ranks = WorkerThreads.Run(2, c => Train(Make.Cpu, c, b, training: true, syncBn: false));
        double worst = single.Values.Zip(ranks[0].Values, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(worst > 1e-4, $"per-rank BN statistics changed the weights by only {worst}");
    }

    [Fact]
    public void Buckets_AreViewsOfTheGradientBuffer_AndGoOutDuringBackward()
    {
        var results = WorkerThreads.Run(2, c =>
        {
            var net = new SmallNet();
            var set = ParameterSet.Create(net, Make.Cpu, seed: 3);
            var buckets = new GradientBuckets(set, c, bucketElements: 64);
            var (images, labels) = Data(4);
            using var scope = TensorScope.Begin();
            var x = Tensor.FromArray(Make.Cpu, images.AsSpan(c.Rank * 2 * Height * Width * Channels, 2 * Height * Width * Channels).ToArray(), [2, Height, Width, Channels]);
            var loss = Ops.SoftmaxCrossEntropy(net.Forward(x), Tensor.FromArray(Make.Cpu, labels.AsSpan(c.Rank * 2, 2).ToArray(), [2]), 0);
            set.ZeroGrad();
            buckets.Backward(loss);
            Assert.All(buckets.Views, v => Assert.Same(set.Gradients.Storage, v.Storage));
            Assert.Equal(set.Count, buckets.Views.Sum(v => v.Count));
            return (Order: buckets.LaunchOrder.ToArray(), buckets.LaunchedDuringBackward, Count: buckets.Views.Count, Gradients: set.Gradients.ToFloatArray());
        });
        var r0 = results[0];
        Assert.True(r0.Count >= 3, $"only {r0.Count} buckets");
        Assert.Equal(Enumerable.Range(0, r0.Count), r0.Order.Order()); // each bucket once
        Assert.Equal(r0.Count, r0.LaunchedDuringBackward); // every parameter is reached: all went out inside backward
        Assert.NotEqual(Enumerable.Range(0, r0.Count), r0.Order); // in readiness order, not layout order
        Assert.Equal(r0.Order, results[1].Order);
        Assert.Equal(r0.Gradients, results[1].Gradients); // averaged: the same on both ranks
    }

    [Fact]
    public void LeafHook_ReportsEachParameterOnce_WhenItsGradientIsFinal()
    {
        var net = new SmallNet();
        var set = ParameterSet.Create(net, Make.Cpu, seed: 3);
        var (images, labels) = Data(2);
        using var scope = TensorScope.Begin();
        var x = Tensor.FromArray(Make.Cpu, images, [2, Height, Width, Channels]);
        var loss = Ops.SoftmaxCrossEntropy(net.Forward(x), Tensor.FromArray(Make.Cpu, labels, [2]), 0);
        set.ZeroGrad();
        var atHook = new Dictionary<Tensor, float[]>(ReferenceEqualityComparer.Instance);
        loss.Backward(leaf => atHook.Add(leaf, leaf.Grad!.ToFloatArray()));
        Assert.Equal(set.Parameters.Count, atHook.Count);
        foreach (var (_, p) in set.Parameters) Assert.Equal(p.Value.Grad!.ToFloatArray(), atHook[p.Value]);
    }
}
