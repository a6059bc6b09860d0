using Igcv3.Engine;
using Xunit;
using static Igcv3.Tests.Kernels.Parity.Parity;

namespace Igcv3.Tests.Kernels.Parity;

/// <summary>The linear layer (cuBLAS SGEMM through the transpose mapping, plus the bias kernels),
/// the softmax cross-entropy and the SGD step against the CPU reference. The CPU linear sums in
/// double, cuBLAS in float over In or N terms (Typical for In, N ≤ 128). The loss's per-row sums are
/// float over K ≤ 100 classes; the SGD step is three fused multiply-adds per element against the
/// CPU's separately rounded multiply and add (one rounding apart: Typical).</summary>
public abstract class LinearLossSgdParityTests(DeviceFixture fixture)
{
    [Collection(CudaCollection.Name), Trait("device", "gpu")]
    public sealed class OnGpu(CudaFixture fixture) : LinearLossSgdParityTests(fixture);

    [Collection(EmulatedCollection.Name), Trait("device", "emulated")]
    public sealed class OnEmulatedDevice(EmulatedFixture fixture) : LinearLossSgdParityTests(fixture);

    [Theory]
    [InlineData(1, 3, 5, true)]
    [InlineData(3, 33, 100, true)]
    [InlineData(7, 100, 10, false)]
    [InlineData(128, 64, 10, true)]
    public void Linear_ForwardAndBackward(int n, int inputs, int outputs, bool bias)
    {
        var gpu = fixture.BackendOrSkip();
        string name = $"linear {n}x{inputs}→{outputs}{(bias ? " + b" : "")}";
        var x = Random(gpu, [n, inputs], 1);
        var w = Random(gpu, [outputs, inputs], 2);
        var b = Random(gpu, [outputs], 3);
        var y = Poisoned(gpu, [n, outputs]);
        Cpu.LinearForward(x.Cpu, w.Cpu, bias ? b.Cpu : null, y.Cpu);
        gpu.LinearForward(x.Gpu, w.Gpu, bias ? b.Gpu : null, y.Gpu);
        AssertClose(name + " y", y.Cpu, y.Gpu, Typical);

        var dy = Random(gpu, [n, outputs], 4);
        var dx = Prefilled(gpu, [n, inputs], 5);
        var dw = Prefilled(gpu, [outputs, inputs], 6);
        var db = Prefilled(gpu, [outputs], 7);
        Cpu.LinearBackward(x.Cpu, w.Cpu, dy.Cpu, dx.Cpu, dw.Cpu, bias ? db.Cpu : null);
        gpu.LinearBackward(x.Gpu, w.Gpu, dy.Gpu, dx.Gpu, dw.Gpu, bias ? db.Gpu : null);
        AssertClose(name + " dx", dx.Cpu, dx.Gpu, Typical);
        AssertClose(name + " dw", dw.Cpu, dw.Gpu, Typical);
        AssertClose(name + " db", db.Cpu, db.Gpu, Typical);
    }

    [Theory]
    [InlineData(1, 3, 0.0)]
    [InlineData(5, 10, 0.1)]
    [InlineData(33, 100, 0.1)]
    [InlineData(256, 10, 0.0)]
    public void SoftmaxCrossEntropy_ForwardAndBackward(int n, int classes, double smoothing)
    {
        var gpu = fixture.BackendOrSkip();
        string name = $"xent {n}x{classes} ε{smoothing}";
        var logits = Random(gpu, [n, classes], 1, -4, 4);
        var random = new Random(2);
        var labelValues = Enumerable.Range(0, n).Select(_ => random.Next(classes)).ToArray();
        var labels = (Cpu: Tensor.FromArray(Cpu, labelValues, [n]), Gpu: Tensor.FromArray(gpu, labelValues, [n]));
        var p = Poisoned(gpu, [n, classes]);
        var loss = Poisoned(gpu, Shape.Scalar);
        Cpu.SoftmaxCrossEntropyForward(logits.Cpu, labels.Cpu, p.Cpu, loss.Cpu, smoothing);
        gpu.SoftmaxCrossEntropyForward(logits.Gpu, labels.Gpu, p.Gpu, loss.Gpu, smoothing);
        AssertClose(name + " p", p.Cpu, p.Gpu, Typical);
        AssertClose(name + " loss", loss.Cpu, loss.Gpu, Typical);

        var dloss = Random(gpu, Shape.Scalar, 3, 0.5, 1.5);
        var dlogits = Prefilled(gpu, [n, classes], 4);
        Cpu.SoftmaxCrossEntropyBackward(p.Cpu, labels.Cpu, dloss.Cpu, dlogits.Cpu, smoothing);
        // The CPU's probabilities on both sides, so that only the backward is compared.
        var pRef = Tensor.FromArray(gpu, p.Cpu.ToFloatArray(), [n, classes]);
        gpu.SoftmaxCrossEntropyBackward(pRef, labels.Gpu, dloss.Gpu, dlogits.Gpu, smoothing);
        AssertClose(name + " dlogits", dlogits.Cpu, dlogits.Gpu, Typical);
    }

    [Theory]
    [InlineData(false, 0.9, 5e-4, false)]
    [InlineData(true, 0.9, 5e-4, false)]
    [InlineData(false, 0.0, 0.0, false)]
    [InlineData(true, 0.9, 5e-4, true)]
    public void Sgd_ThreeSteps(bool nesterov, double momentum, double weightDecay, bool rateOnDevice)
    {
        var gpu = fixture.BackendOrSkip();
        const int n = 1003;
        var p = Random(gpu, [n], 1);
        var buf = Prefilled(gpu, [n], 2);
        // With the rate on the device, the spec's own rate is a decoy that must be ignored, and
        // the rate changes between steps as a schedule's does in a replayed graph.
        var rate = (Cpu: Tensor.Zeros(Cpu, [1]), Gpu: Tensor.Zeros(gpu, [1]));
        var spec = new SgdSpec(rateOnDevice ? 7.0 : 0.1, momentum, nesterov, weightDecay, DecayedCount: 500);
        for (int step = 0; step < 3; step++)
        {
            var g = Random(gpu, [n], 10 + step);
            rate.Cpu.UploadDoubles([0.1 / (step + 1)]);
            rate.Gpu.UploadDoubles([0.1 / (step + 1)]);
            Cpu.SgdStep(p.Cpu, g.Cpu, buf.Cpu, rateOnDevice ? spec with { LearningRate = 0.1 / (step + 1) } : spec);
            gpu.SgdStep(p.Gpu, g.Gpu, buf.Gpu, rateOnDevice ? spec with { LearningRateTensor = rate.Gpu } : spec);
        }
        AssertClose($"sgd nesterov={nesterov} parameters", p.Cpu, p.Gpu, Typical);
        AssertClose($"sgd nesterov={nesterov} momentum", buf.Cpu, buf.Gpu, Typical);
    }
}
