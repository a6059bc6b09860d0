using Igcv3.Engine;
using Igcv3.Engine.Nn;
using Igcv3.Networks;
using Xunit;
using static Igcv3.Tests.Kernels.Parity.Parity;

namespace Igcv3.Tests.Kernels.Parity;

/// <summary>
/// Whole models on the GPU against the same models on the CPU, built with the same seed (parameters
/// are drawn on the host, so both start identical): an IGCV3-D block with fused permutations, and a
/// small whole IGCV3-D — forward, loss, every parameter gradient, the BN running statistics and an
/// SGD step. The error of each op propagates through the following ones and batch norm rescales it
/// by 1/σ of its input at every layer, so the tolerance is wider than per op: 1e-3 normwise (one
/// ReLU6 mask element flipping near a kink between the two sides moves a gradient by a similar amount
/// at most locally, and the norm over a whole tensor dilutes it).
/// </summary>
[Collection(CudaCollection.Name)]
public sealed class NetworkParityTests(CudaFixture fixture)
{
    private const double Network = 1e-3;

    [Fact]
    public void Igcv3Block_Groups3_OutputPermutation_Stride2_ForwardAndEveryGradient()
    {
        var gpu = fixture.BackendOrSkip();
        var options = new Igcv3BlockOptions(G1: 3, G2: 3, OutputPermutation: true,
            Relu: ReluPlacement.AfterExpand | ReluPlacement.AfterDepthwise);
        Module Make() => new Igcv3Block(6, 33, 9, stride: 2, shortcut: false, options);
        CompareForwardBackward("igcv3 block g3 /2", Make, gpu, [3, 7, 7, 6]);
    }

    [Fact]
    public void Igcv3Block_WithShortcut_ForwardAndEveryGradient()
    {
        var gpu = fixture.BackendOrSkip();
        Module Make() => new Igcv3Block(8, 48, 8, stride: 1, shortcut: true, new Igcv3BlockOptions());
        CompareForwardBackward("igcv3 block + shortcut", Make, gpu, [2, 5, 5, 8]);
    }

    private static void CompareForwardBackward(string name, Func<Module> make, IBackend gpu, Shape inputShape)
    {
        var cpuModel = make();
        var gpuModel = make();
        var cpuSet = ParameterSet.Create(cpuModel, Cpu, seed: 31);
        var gpuSet = ParameterSet.Create(gpuModel, gpu, seed: 31);
        AssertClose(name + " initial parameters", cpuSet.Values, gpuSet.Values, Exact);
        var x = Random(gpu, inputShape, 32);
        x.Cpu.RequiresGrad = x.Gpu.RequiresGrad = true;
        var y = (Cpu: cpuModel.Forward(x.Cpu), Gpu: gpuModel.Forward(x.Gpu));
        AssertClose(name + " y", y.Cpu, y.Gpu, Network);
        var seed = Random(gpu, y.Cpu.Shape, 33);
        y.Cpu.Backward(seed.Cpu);
        y.Gpu.Backward(seed.Gpu);
        AssertClose(name + " dx", x.Cpu.Grad!, x.Gpu.Grad!, Network);
        AssertEveryGradient(name, cpuSet, gpuSet);
        AssertClose(name + " running statistics", cpuSet.Buffers, gpuSet.Buffers, Network);
    }

    private static void AssertEveryGradient(string name, ParameterSet cpuSet, ParameterSet gpuSet)
    {
        for (int i = 0; i < cpuSet.Parameters.Count; i++)
        {
            var (parameterName, cpuParameter) = cpuSet.Parameters[i];
            var gpuParameter = gpuSet.Parameters[i].Parameter;
            AssertClose($"{name} d{parameterName}", cpuParameter.Value.Grad!, gpuParameter.Value.Grad!, Network);
        }
    }

    [Fact]
    public void SmallIgcv3D_LossEveryGradientAndSgdStep()
    {
        var gpu = fixture.BackendOrSkip();
        var options = new NetworkOptions { WidthMultiplier = 0.25, Classes = 10 };
        var cpuNet = NetworkRegistry.Create("igcv3-d", options);
        var gpuNet = NetworkRegistry.Create("igcv3-d", options);
        var cpuSet = ParameterSet.Create(cpuNet, Cpu, seed: 41);
        var gpuSet = ParameterSet.Create(gpuNet, gpu, seed: 41);
        var x = Random(gpu, [4, 16, 16, 3], 42);
        var random = new Random(43);
        var labelValues = Enumerable.Range(0, 4).Select(_ => random.Next(10)).ToArray();

        var cpuLoss = Ops.SoftmaxCrossEntropy(cpuNet.Forward(x.Cpu), Tensor.FromArray(Cpu, labelValues, [4]), 0.1);
        var gpuLoss = Ops.SoftmaxCrossEntropy(gpuNet.Forward(x.Gpu), Tensor.FromArray(gpu, labelValues, [4]), 0.1);
        Assert.True(Math.Abs(gpuLoss.Item() - cpuLoss.Item()) <= Network * Math.Abs(cpuLoss.Item()),
            $"igcv3-d loss: gpu {gpuLoss.Item():G9}, cpu {cpuLoss.Item():G9}");
        cpuLoss.Backward();
        gpuLoss.Backward();
        AssertEveryGradient("igcv3-d 0.25x", cpuSet, gpuSet);
        AssertClose("igcv3-d 0.25x all gradients", cpuSet.Gradients, gpuSet.Gradients, Network);
        AssertClose("igcv3-d 0.25x running statistics", cpuSet.Buffers, gpuSet.Buffers, Network);

        var cpuSgd = new Sgd(cpuSet, momentum: 0.9, nesterov: true, weightDecay: 5e-4, exemptNoDecay: true);
        var gpuSgd = new Sgd(gpuSet, momentum: 0.9, nesterov: true, weightDecay: 5e-4, exemptNoDecay: true);
        cpuSgd.Step(0.1);
        gpuSgd.Step(0.1);
        AssertClose("igcv3-d 0.25x parameters after a step", cpuSet.Values, gpuSet.Values, Network);
        AssertClose("igcv3-d 0.25x momentum after a step", cpuSgd.MomentumBuffer, gpuSgd.MomentumBuffer, Network);
    }
}
