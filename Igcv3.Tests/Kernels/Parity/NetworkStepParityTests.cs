using Igcv3.Engine;
using Igcv3.Engine.Cpu;
using Igcv3.Engine.Nn;
using Igcv3.Kernels.Cuda;
using Igcv3.Networks;
using Xunit;

namespace Igcv3.Tests.Kernels.Parity;

/// <summary>
/// Two whole training steps (forward in training mode, label-smoothed loss, backward, Nesterov SGD
/// with weight decay; the second from updated weights and momentum) of every registered network at a small but real shape, on the device and on the
/// CPU, each 1x1 way (tiled kernels, cuBLAS, Auto).
/// <para>The tolerance is float32's own: both float32 runs are measured against the same step in
/// float64 on the CPU, and the device's normwise error on every tensor (logits, loss, each
/// parameter's gradient, the BN running statistics, the parameters and momentum after each step)
/// may be at most <see cref="Slack"/> times the CPU float32 run's error, or <see cref="Floor"/>.
/// A fixed tolerance does not work for whole networks: batch norm over the few rows of a late layer
/// at batch 2 amplifies rounding by 1/σ at every layer, so the CPU's own float32 error differs by
/// orders of magnitude between tensors, while a wrong kernel makes the device's error jump far
/// above the CPU's on the tensors it touches.</para>
/// </summary>
public abstract class NetworkStepParityTests(DeviceFixture fixture)
{
    [Collection(CudaCollection.Name), Trait("device", "gpu")]
    public sealed class OnGpu(CudaFixture fixture) : NetworkStepParityTests(fixture);

    [Collection(EmulatedCollection.Name), Trait("device", "emulated")]
    public sealed class OnEmulatedDevice(EmulatedFixture fixture) : NetworkStepParityTests(fixture);

    /// <summary>The device may round differently (other summation orders, fmaf, float partial sums
    /// where the CPU keeps double ones), but not be more than this many times worse than the CPU.</summary>
    private const double Slack = 20;

    /// <summary>Below this normwise error a float32 tensor agrees, whatever the CPU's error is: the
    /// CPU keeps some sums in double, so its float32 error can be far below float32's typical one,
    /// and in the second step the device's float partial sums of the first step's weight gradients
    /// (over all N·H·W rows) have grown to ~3e-5 on the loss. A kernel bug shows as 1e-3 to O(1).</summary>
    private const double Floor = 1e-4;

    private const int Batch = 2;

    private const int Steps = 2;

    public static TheoryData<string, PointwiseGemm> Cases()
    {
        var cases = new TheoryData<string, PointwiseGemm>();
        foreach (var network in NetworkRegistry.Names)
        {
            foreach (var how in new[] { PointwiseGemm.Tiled, PointwiseGemm.Cublas, PointwiseGemm.Auto }) cases.Add(network, how);
        }
        return cases;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void TrainingStep_AgreesWithTheCpu_WithinFloat32Rounding(string network, PointwiseGemm how)
    {
        var gpu = fixture.BackendOrSkip();
        var reference = Step(network, CpuBackend.Instance, DType.F64);
        var cpu = Step(network, CpuBackend.Instance, DType.F32);
        var before = gpu.PointwiseGemm;
        gpu.PointwiseGemm = how;
        Dictionary<string, double[]> device;
        try
        {
            device = Step(network, gpu, DType.F32);
        }
        finally
        {
            gpu.PointwiseGemm = before;
        }
        var failures = new List<string>();
        foreach (var (name, exact) in reference)
        {
            double cpuError = Error(cpu[name], exact), deviceError = Error(device[name], exact);
            if (!(deviceError <= Math.Max(Slack * cpuError, Floor)))
            {
                failures.Add($"{name}: device error {deviceError:G3} vs the CPU's {cpuError:G3} (float64 reference norm {Norm(exact):G3})");
            }
        }
        Assert.True(failures.Count == 0, $"{network} ({how}) on {gpu.Name}, {failures.Count} of {reference.Count} tensors:\n" + string.Join('\n', failures));
    }

    /// <summary>Small, but every layer type of the network at its real stride pattern: the CIFAR nets
    /// at 32x32, the ImageNet ones at 64x64 (their stem and four stages take it to 2x2); IGCV1's
    /// L = M = 3 and the dense width 5 give odd channel counts (the scalar paths).</summary>
    private static (NetworkOptions Options, int Size) Configuration(string network) =>
        (new NetworkOptions { Classes = 10, WidthMultiplier = 0.5, Depth = 8, L = 3, M = 3, Width = 5 },
         network.Contains("imagenet", StringComparison.Ordinal) ? 64 : 32);

    /// <summary>One step from the same initial parameters and batch (drawn on the host, so every
    /// backend and precision starts identical); every tensor the step produces, as doubles.</summary>
    private static Dictionary<string, double[]> Step(string network, IBackend backend, DType dtype)
    {
        var (options, size) = Configuration(network);
        var net = NetworkRegistry.Create(network, options);
        var set = ParameterSet.Create(net, backend, seed: 51, dtype);
        var random = new Random(52);
        var pixels = Enumerable.Range(0, Batch * size * size * 3).Select(_ => random.NextDouble() * 2 - 1).ToArray();
        Shape shape = [Batch, size, size, 3];
        var x = dtype == DType.F64 ? Tensor.FromArray(backend, pixels, shape) : Tensor.FromArray(backend, pixels.Select(v => (float)v).ToArray(), shape);
        var labels = Tensor.FromArray(backend, Enumerable.Range(0, Batch).Select(_ => random.Next(options.Classes)).ToArray(), [Batch]);

        var sgd = new Sgd(set, momentum: 0.9, nesterov: true, weightDecay: 5e-4, exemptNoDecay: true);
        var result = new Dictionary<string, double[]>();
        // Two steps, as the trainer makes them: the second starts from updated weights, a non-zero
        // momentum buffer and gradients that must have been zeroed in between.
        for (int step = 1; step <= Steps; step++)
        {
            var logits = net.Forward(x);
            var loss = Ops.SoftmaxCrossEntropy(logits, labels, 0.1);
            set.ZeroGrad();
            loss.Backward();
            string at = $"step {step}: ";
            result[at + "logits"] = logits.ToDoubleArray();
            result[at + "loss"] = loss.ToDoubleArray();
            result[at + "BN running statistics"] = set.Buffers.ToDoubleArray();
            foreach (var (name, parameter) in set.Parameters) result[at + "d" + name] = parameter.Value.Grad!.ToDoubleArray();
            sgd.Step(0.1);
            result[at + "parameters after the step"] = set.Values.ToDoubleArray();
            result[at + "momentum after the step"] = sgd.MomentumBuffer.ToDoubleArray();
        }
        return result;
    }

    private static double Norm(double[] v) => Math.Sqrt(v.Sum(e => e * e));

    /// <summary>‖a − exact‖₂ / ‖exact‖₂ (absolute where exact is all zeros); NaN anywhere is infinite.</summary>
    private static double Error(double[] a, double[] exact)
    {
        double diff = 0;
        for (int i = 0; i < a.Length; i++)
        {
            if (double.IsNaN(a[i])) return double.PositiveInfinity;
            diff += (a[i] - exact[i]) * (a[i] - exact[i]);
        }
        double norm = Norm(exact);
        return norm > 0 ? Math.Sqrt(diff) / norm : Math.Sqrt(diff);
    }
}
