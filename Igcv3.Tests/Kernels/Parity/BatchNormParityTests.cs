using Igcv3.Engine;
using Xunit;
using static Igcv3.Tests.Kernels.Parity.Parity;

namespace Igcv3.Tests.Kernels.Parity;

/// <summary>batchnorm.cu against the CPU reference (which computes the statistics in double, two
/// passes): training and eval, every activation, C = 3, 5, 33, 100 and 64 (float4 apply path), x with
/// a mean of 3 so that a one-pass E[x²] − E[x]² would show. The GPU's per-thread Welford runs in
/// float over up to M/(8·splits) rows before the double merges, so the statistics carry float
/// rounding (LongReduction); the outputs depend on them and share the tolerance.</summary>
public abstract class BatchNormParityTests(DeviceFixture fixture)
{
    [Collection(CudaCollection.Name), Trait("device", "gpu")]
    public sealed class OnGpu(CudaFixture fixture) : BatchNormParityTests(fixture);

    [Collection(EmulatedCollection.Name), Trait("device", "emulated")]
    public sealed class OnEmulatedDevice(EmulatedFixture fixture) : BatchNormParityTests(fixture);

    [Theory]
    [InlineData(new[] { 3, 5, 5, 33 }, true, Activation.Relu6)]
    [InlineData(new[] { 2, 100 }, true, Activation.None)]
    [InlineData(new[] { 4, 7, 7, 64 }, true, Activation.Relu)]
    [InlineData(new[] { 1, 1, 1, 3 }, false, Activation.Relu6)]
    [InlineData(new[] { 2, 3, 3, 5 }, false, Activation.Relu)]
    [InlineData(new[] { 8, 16, 16, 32 }, true, Activation.Relu6)]
    public void ForwardAndBackward(int[] dims, bool training, Activation activation)
    {
        var gpu = fixture.BackendOrSkip();
        Shape shape = dims;
        int c = dims[^1];
        var spec = new BatchNormSpec(training, Momentum: 0.1, Epsilon: 1e-5, activation);
        string name = $"batch_norm {shape} {(training ? "train" : "eval")} {activation}";
        var x = Random(gpu, shape, 1, 1, 5);
        var gamma = Random(gpu, [c], 2, 0.5, 1.5);
        var beta = Random(gpu, [c], 3, -0.5, 0.5);
        var runMean = Random(gpu, [c], 4, 2, 4);
        var runVar = Random(gpu, [c], 5, 0.5, 2);
        var y = Poisoned(gpu, shape);
        var saveMean = Poisoned(gpu, [c]);
        var saveInvStd = Poisoned(gpu, [c]);
        Cpu.BatchNormForward(x.Cpu, gamma.Cpu, beta.Cpu, runMean.Cpu, runVar.Cpu, y.Cpu, saveMean.Cpu, saveInvStd.Cpu, spec);
        gpu.BatchNormForward(x.Gpu, gamma.Gpu, beta.Gpu, runMean.Gpu, runVar.Gpu, y.Gpu, saveMean.Gpu, saveInvStd.Gpu, spec);
        AssertClose(name + " y", y.Cpu, y.Gpu, LongReduction);
        AssertClose(name + " saveMean", saveMean.Cpu, saveMean.Gpu, LongReduction);
        AssertClose(name + " saveInvStd", saveInvStd.Cpu, saveInvStd.Gpu, LongReduction);
        AssertClose(name + " runningMean", runMean.Cpu, runMean.Gpu, LongReduction);
        AssertClose(name + " runningVar", runVar.Cpu, runVar.Gpu, LongReduction);

        // The backward reads the CPU's saved statistics on both sides, so only the backward differs.
        var mean = (Cpu: saveMean.Cpu, Gpu: Tensor.FromArray(gpu, saveMean.Cpu.ToFloatArray(), [c]));
        var invStd = (Cpu: saveInvStd.Cpu, Gpu: Tensor.FromArray(gpu, saveInvStd.Cpu.ToFloatArray(), [c]));
        var dy = Random(gpu, shape, 6);
        var dx = Prefilled(gpu, shape, 7);
        var dgamma = Prefilled(gpu, [c], 8);
        var dbeta = Prefilled(gpu, [c], 9);
        Cpu.BatchNormBackward(x.Cpu, gamma.Cpu, beta.Cpu, mean.Cpu, invStd.Cpu, dy.Cpu, dx.Cpu, dgamma.Cpu, dbeta.Cpu, spec);
        gpu.BatchNormBackward(x.Gpu, gamma.Gpu, beta.Gpu, mean.Gpu, invStd.Gpu, dy.Gpu, dx.Gpu, dgamma.Gpu, dbeta.Gpu, spec);
        AssertClose(name + " dx", dx.Cpu, dx.Gpu, LongReduction);
        AssertClose(name + " dgamma", dgamma.Cpu, dgamma.Gpu, LongReduction);
        AssertClose(name + " dbeta", dbeta.Cpu, dbeta.Gpu, LongReduction);

        // dx alone (the sums are still needed in training), and the parameter gradients alone.
        var dxOnly = Prefilled(gpu, shape, 10);
        Cpu.BatchNormBackward(x.Cpu, gamma.Cpu, beta.Cpu, mean.Cpu, invStd.Cpu, dy.Cpu, dxOnly.Cpu, null, null, spec);
        gpu.BatchNormBackward(x.Gpu, gamma.Gpu, beta.Gpu, mean.Gpu, invStd.Gpu, dy.Gpu, dxOnly.Gpu, null, null, spec);
        AssertClose(name + " dx alone", dxOnly.Cpu, dxOnly.Gpu, LongReduction);
        var dgOnly = Prefilled(gpu, [c], 11);
        Cpu.BatchNormBackward(x.Cpu, gamma.Cpu, beta.Cpu, mean.Cpu, invStd.Cpu, dy.Cpu, null, dgOnly.Cpu, null, spec);
        gpu.BatchNormBackward(x.Gpu, gamma.Gpu, beta.Gpu, mean.Gpu, invStd.Gpu, dy.Gpu, null, dgOnly.Gpu, null, spec);
        AssertClose(name + " dgamma alone", dgOnly.Cpu, dgOnly.Gpu, LongReduction);
    }

    /// <summary>The apply alone, with the statistics a convolution computed, and with a block's
    /// residual add fused into it: the same rounded sum as the add after the norm, so exact.</summary>
    [Theory]
    [InlineData(new[] { 3, 5, 5, 33 }, Activation.Relu6)]
    [InlineData(new[] { 4, 7, 7, 64 }, Activation.None)]
    [InlineData(new[] { 2, 3, 3, 5 }, Activation.Relu)]
    public void Apply_WithAndWithoutAResidual(int[] dims, Activation activation)
    {
        var gpu = fixture.BackendOrSkip();
        Shape shape = dims;
        int c = dims[^1];
        string name = $"batch_norm apply {shape} {activation}";
        var x = Random(gpu, shape, 31, 1, 5);
        var gamma = Random(gpu, [c], 32, 0.5, 1.5);
        var beta = Random(gpu, [c], 33, -0.5, 0.5);
        var mean = Random(gpu, [c], 34, 2, 4);
        var invStd = Random(gpu, [c], 35, 0.5, 2);
        var residual = Random(gpu, shape, 36);
        var y = Poisoned(gpu, shape);
        Cpu.BatchNormApply(x.Cpu, gamma.Cpu, beta.Cpu, mean.Cpu, invStd.Cpu, y.Cpu, activation);
        gpu.BatchNormApply(x.Gpu, gamma.Gpu, beta.Gpu, mean.Gpu, invStd.Gpu, y.Gpu, activation);
        AssertClose(name, y.Cpu, y.Gpu, Typical);

        var fused = Poisoned(gpu, shape);
        gpu.BatchNormApply(x.Gpu, gamma.Gpu, beta.Gpu, mean.Gpu, invStd.Gpu, fused.Gpu, activation, residual.Gpu);
        var sum = Poisoned(gpu, shape);
        gpu.Add(y.Gpu, residual.Gpu, sum.Gpu);
        AssertClose(name + " + residual, against the add after it", sum.Gpu, fused.Gpu, Exact);
        Cpu.BatchNormApply(x.Cpu, gamma.Cpu, beta.Cpu, mean.Cpu, invStd.Cpu, fused.Cpu, activation, residual.Cpu);
        AssertClose(name + " + residual", fused.Cpu, fused.Gpu, Typical);
    }
}
