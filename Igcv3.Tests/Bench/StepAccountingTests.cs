using Igcv3.Bench.Workloads;
using Igcv3.Kernels.Cuda;
using Igcv3.Networks;
using Igcv3.Kernels;
using Xunit;

namespace Igcv3.Tests.Bench;

/// <summary>
/// The offline step accounting (the step-accounting bench mode): every kernel has a traffic rule,
/// and the bytes read off kernel arguments agree with the bytes the op trace computes from tensor
/// shapes, for the ops that are one kernel each.
/// </summary>
public sealed class StepAccountingTests
{
    [Fact]
    public void EveryDeclaredKernel_HasATrafficRule()
    {
        foreach (var kernel in CudaKernels.All)
        {
            // Every integer 2 (a valid geometry for every contract), every pointer non-null.
            var bits = kernel.Parameters.Select(k => k == ArgKind.Int32 ? 2UL : k == ArgKind.Pointer ? 0x1000UL : 0UL).ToArray();
            var launch = new RecordingQueue.Launched(kernel.Name, new Dim3(1), kernel.Parameters, bits);
            Assert.True(KernelTraffic.Bytes(launch) > 0, $"{kernel.Name}: no bytes");
        }
    }

    [Fact]
    public void AnUnknownKernel_IsRefused_NotCountedAsFree()
    {
        var launch = new RecordingQueue.Launched("new_kernel", new Dim3(1), [ArgKind.Int32], [1UL]);
        var error = Assert.Throws<InvalidOperationException>(() => KernelTraffic.Bytes(launch));
        Assert.Contains("new_kernel", error.Message);
    }

    [Theory]
    [InlineData("igcv3-d")]
    [InlineData("mobilenetv2")]
    [InlineData("resnet-igc")]
    public void KernelBytes_MatchTheOpTrace_ForTheOneKernelOps(string network)
    {
        var workload = new Workload(network, InputKind.Cifar, 3, 10);
        var account = StepAccount.Measure(workload);
        var trace = TrainingStep.Trace(workload);
        // The op trace computes no batch statistics in a convolution (its batch norms count their own
        // pass), so the kernels' epilogue statistics are left out of the comparison.
        long Kernels(string family) => account.Families.Single(f => f.Family == family) is var share ? share.Bytes - share.StatisticsBytes : 0;
        long Ops(string op) => trace.Where(c => c.Op == op).Sum(c => c.Bytes);

        Assert.Equal(Ops("pointwise.forward"), Kernels("pointwise_forward"));
        Assert.Equal(Ops("conv2d.forward"), Kernels("conv2d_forward"));
        if (network != "resnet-igc") Assert.Equal(Ops("depthwise.forward"), Kernels("depthwise3x3_forward"));
        Assert.Equal(account.Kernels, account.Families.Sum(f => f.Launches));
        // Training: the pointwise and depthwise convolutions compute the batch statistics of the norms
        // after them, so the only norms with a statistics kernel of their own follow a general convolution.
        int Launches(string family) => account.Families.SingleOrDefault(f => f.Family == family)?.Launches ?? 0;
        Assert.True(account.Families.Single(f => f.Family == "pointwise_forward").StatisticsBytes > 0, "the 1x1 convolutions compute batch statistics");
        // (The IGCV1 ResNet's group convolutions feed their 1x1 convolutions, not norms.)
        if (network == "resnet-igc") Assert.InRange(Launches("batchnorm_forward_stats"), 1, Launches("conv2d_forward"));
        else Assert.Equal(Launches("conv2d_forward"), Launches("batchnorm_forward_stats"));
        Assert.True(account.FusedMinimumBytes < account.Bytes, $"{account.Workload}: the minimum {account.FusedMinimumBytes} is not below the step's {account.Bytes}");
        // With --cuda-graph on, a step is one graph launch (and the copies of its loss and logits out of the graph's blocks).
        Assert.Equal(1, account.Graphed.GraphLaunches);
        Assert.Equal(2, account.Graphed.OtherOperations);
        // No zeroing pass over activation gradients. The memsets left: the flat parameter-gradient
        // buffer's, the loss's seed gradient (one 1.0), and one per general convolution whose input
        // gradient is computed and still unwritten (conv2d_backward_data only accumulates): in the
        // inverted-residual networks only the head's; in the IGCV1 ResNet the shortcut often writes first.
        int conv2dData = account.Families.SingleOrDefault(f => f.Family == "conv2d_backward_data")?.Launches ?? 0;
        if (network == "resnet-igc") Assert.InRange(account.Memsets, 2, 2 + conv2dData);
        else Assert.Equal(2 + conv2dData, account.Memsets);
    }

    [Fact]
    public void Family_DropsOnlyTheTileSuffix()
    {
        Assert.Equal("pointwise_forward", StepAccount.Family("pointwise_forward_64x32"));
        Assert.Equal("pointwise_backward_weight", StepAccount.Family("pointwise_backward_weight_16x64"));
        Assert.Equal("depthwise3x3_forward", StepAccount.Family("depthwise3x3_forward"));
        Assert.Equal("batchnorm_forward_stats", StepAccount.Family("batchnorm_forward_stats"));
    }
}
