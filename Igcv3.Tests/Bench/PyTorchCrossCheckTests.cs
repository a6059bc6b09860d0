using Igcv3.Engine;
using Igcv3.Engine.Checkpoints;
using Igcv3.Engine.Cpu;
using Igcv3.Engine.Nn;
using Igcv3.Networks;
using Igcv3.Tests.Support;
using Xunit;

namespace Igcv3.Tests.Bench;

/// <summary>
/// Our CPU engine against PyTorch, in float64, on the same weights and batch: IGCV3-D and
/// MobileNetV2 (CIFAR and ImageNet), IGCV2, the IGCV1 networks and their dense baselines, each built on
/// the PyTorch side from IGC_SPEC.md alone (the side-by-side script's plan; igc_torch.py). We write a checkpoint (so PyTorch reads our safetensors and
/// our OHWI layout) and what we computed: eval-mode logits, and after one training-mode forward
/// and backward of the cross-entropy, the loss, every parameter's gradient and every BN running
/// statistic. Pytorch/crosscheck.py recomputes each and compares (normwise relative error 1e-9).
/// BN's γ, β and running statistics are randomised first, so that a swap of any two shows.
/// Skipped where no python3 imports torch and numpy (Debian's python3-torch serves; so does a GPU host's).
/// </summary>
public sealed class PyTorchCrossCheckTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private static double[] Draw(Random random, long count, double low, double high) =>
        [.. Enumerable.Range(0, checked((int)count)).Select(_ => low + (high - low) * random.NextDouble())];

    /// <summary>Network, ImageNet input, batch, and the IGCV1 family's depth, L, M and width (0: the default),
    /// small enough for seconds in float64 but with every kind of block: IGC units, dense units,
    /// identity and projection shortcuts, the ImageNet stem's max pool.</summary>
    [Theory]
    [InlineData("igcv3-d", false, 2, 0, 0, 0, 0)]
    [InlineData("mobilenetv2", false, 2, 0, 0, 0, 0)]
    [InlineData("igcv3-d", true, 1, 0, 0, 0, 0)]
    [InlineData("mobilenetv2", true, 1, 0, 0, 0, 0)]
    [InlineData("igcv2", false, 2, 0, 0, 0, 0)]
    [InlineData("plain-igc", false, 2, 8, 2, 2, 0)]
    [InlineData("resnet-igc", false, 2, 14, 2, 2, 0)]
    [InlineData("plain", false, 2, 8, 0, 0, 4)]
    [InlineData("resnet", false, 2, 14, 0, 0, 4)]
    [InlineData("resnet-igc-imagenet-d18", true, 1, 0, 2, 1, 0)]
    [InlineData("resnet-imagenet-d18", true, 1, 0, 0, 0, 4)]
    public void ForwardGradientsAndRunningStatistics_EqualPyTorchs(string name, bool imageNet, int batch, int depth, int l, int m, int width)
    {
        string folder = BenchPython.ScriptFolder();
        string python = BenchPython.InterpreterWith("torch", "numpy");

        var cpu = CpuBackend.Instance;
        var options = new NetworkOptions { Classes = 10, Input = imageNet ? InputKind.ImageNet : InputKind.Cifar };
        if (depth > 0) options = options with { Depth = depth };
        if (l > 0) options = options with { L = l, M = m };
        if (width > 0) options = options with { Width = width };
        var net = NetworkRegistry.Create(name, options);
        var set = ParameterSet.Create(net, cpu, seed: 3, DType.F64);
        var random = new Random(4);
        foreach (var bn in net.NamedModules().Select(m => m.Module).OfType<BatchNorm>())
        {
            bn.Gamma.Value.UploadDoubles(Draw(random, bn.Gamma.Shape.Count, 0.5, 1.5));
            bn.Beta.Value.UploadDoubles(Draw(random, bn.Beta.Shape.Count, -0.3, 0.3));
            bn.RunningMean.Value.UploadDoubles(Draw(random, bn.RunningMean.Shape.Count, -0.3, 0.3));
            bn.RunningVar.Value.UploadDoubles(Draw(random, bn.RunningVar.Shape.Count, 0.5, 1.5));
        }
        string weights = _temp.File("weights.safetensors");
        Checkpoint.Save(weights, set);

        var x = Tensor.RandomNormal(cpu, net.InputShape(batch), random, dtype: DType.F64);
        int[] labels = [.. Enumerable.Range(0, batch).Select(i => (3 * i + 1) % 10)];
        var io = new List<SafeTensor>
        {
            SafeTensor.FromDoubles("x", x.ToDoubleArray(), x.Shape.ToLongArray()),
            SafeTensor.FromInt32s("labels", labels, [batch]),
        };
        net.Eval();
        using (GradMode.NoGrad())
        {
            var logits = net.Forward(x);
            io.Add(SafeTensor.FromDoubles("eval.logits", logits.ToDoubleArray(), logits.Shape.ToLongArray()));
        }
        net.Train();
        set.ZeroGrad();
        var loss = Ops.SoftmaxCrossEntropy(net.Forward(x), Tensor.FromArray(cpu, labels, [batch]));
        loss.Backward();
        io.Add(SafeTensor.FromDoubles("train.loss", loss.ToDoubleArray(), []));
        foreach (var (pname, p) in set.Parameters) io.Add(SafeTensor.FromDoubles($"grad.{pname}", p.Value.Grad!.ToDoubleArray(), p.Shape.ToLongArray()));
        foreach (var (bname, b) in set.BufferSlots) io.Add(SafeTensor.FromDoubles($"after.{bname}", b.Value.ToDoubleArray(), b.Shape.ToLongArray()));
        string ioPath = _temp.File("io.safetensors");
        File.WriteAllBytes(ioPath, SafeTensorsWriter.ToBytes(io));

        var (code, output) = BenchPython.Run(python, folder, "crosscheck.py", "--network", name, "--input", imageNet ? "imagenet" : "cifar",
            "--classes", "10", "--depth", $"{options.Depth}", "--l", $"{options.L}", "--m", $"{options.M}",
            "--width", $"{options.Width ?? 0}", "--weights", weights, "--io", ioPath);
        Assert.True(code == 0, output);
        int comparisons = 2 + set.Parameters.Count + set.BufferSlots.Count; // logits, loss, every gradient and statistic
        Assert.Contains($"{name} {(imageNet ? "imagenet" : "cifar")}: {comparisons} comparisons", output);
    }
}
