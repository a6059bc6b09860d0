using Igcv3.Engine;
using Igcv3.Engine.Nn;
using Igcv3.Networks;
using Xunit;
using static Igcv3.Tests.Kernels.Parity.Parity;

namespace Igcv3.Tests.Kernels.Parity;

/// <summary>
/// Whole models on the GPU against the same models on the CPU, built with the same seed (parameters
/// are drawn on the host, so both start identical): IGCV3-D blocks with fused permutations, forward
/// and every gradient. Whole networks' training steps are <see cref="NetworkStepParityTests"/>. The error of each op propagates through the following ones and batch norm rescales it
/// by 1/σ of its input at every layer, so the tolerance is wider than per op: 1e-3 normwise (one
/// ReLU6 mask element flipping near a kink between the two sides moves a gradient by a similar amount
/// at most locally, and the norm over a whole tensor dilutes it).
/// </summary>
public abstract class NetworkParityTests(DeviceFixture fixture)
{
    [Collection(CudaCollection.Name), Trait("device", "gpu")]
    public sealed class OnGpu(CudaFixture fixture) : NetworkParityTests(fixture);

    [Collection(EmulatedCollection.Name), Trait("device", "emulated")]
    public sealed class OnEmulatedDevice(EmulatedFixture fixture) : NetworkParityTests(fixture);

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
}
