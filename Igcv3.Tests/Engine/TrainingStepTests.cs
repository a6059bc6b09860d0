using Igcv3.Engine;
using Igcv3.Engine.Nn;
using Igcv3.Tests.Support;
using Xunit;

namespace Igcv3.Tests.Engine;

/// <summary>The whole training step of a tiny network on the CPU reference path: its gradients
/// against finite differences, the SGD update against its formula, and learning on a seeded
/// synthetic task.</summary>
public class TrainingStepTests
{
    /// <summary>stem conv → BN·ReLU6 → grouped 1x1 with fused shuffle → BN → depthwise/2 → BN·ReLU6
    /// → grouped 1x1 → BN → global pool → linear: every op family of an IGC network, in small.</summary>
    private sealed class TinyNet : Module
    {
        private readonly Sequential _body;

        public TinyNet(int classes)
        {
            _body = Add("body", new Sequential(
                new Conv2d(3, 6, kernel: 3, padding: 1),
                new BatchNorm(6, Activation.Relu6),
                new PointwiseConv(6, 12, groups: 2, outputShuffle: 2),
                new BatchNorm(12),
                new DepthwiseConv3x3(12, stride: 2),
                new BatchNorm(12, Activation.Relu6),
                new PointwiseConv(12, 8, groups: 2),
                new BatchNorm(8),
                new GlobalAvgPool(),
                new Linear(8, classes)));
        }

        public override Tensor Forward(Tensor x) => _body.Forward(x);
    }

    private static Tensor Loss(Module net, Tensor images, Tensor labels, double smoothing) =>
        Ops.SoftmaxCrossEntropy(net.Forward(images), labels, smoothing);

    [Fact]
    public void TinyNetworkLoss_GradientOfEveryParameter_MatchesFiniteDifferences()
    {
        var net = new TinyNet(classes: 3);
        var set = ParameterSet.Create(net, Make.Cpu, seed: 21, DType.F64);
        var images = Make.Random([3, 5, 5, 3], 22);
        var labels = Make.Labels(3, 3, 23);
        // Every parameter tensor, all elements; the images too. Default thresholds of GradCheck.
        var inputs = set.Parameters.Select(p => p.Parameter.Value).Append(images).ToList();
        GradCheck.Check("tiny network loss", () => Loss(net, images, labels, smoothing: 0.1), inputs);
    }

    [Fact]
    public void TrainingStep_UpdatesEveryParameterByTheSgdFormula()
    {
        var net = new TinyNet(classes: 3);
        var set = ParameterSet.Create(net, Make.Cpu, seed: 31, DType.F64);
        var sgd = new Sgd(set, momentum: 0.9, nesterov: true, weightDecay: 1e-2, exemptNoDecay: true);
        var images = Make.Random([2, 5, 5, 3], 32);
        var labels = Make.Labels(2, 3, 33);

        var before = set.Values.ToDoubleArray();
        set.ZeroGrad();
        Loss(net, images, labels, 0).Backward();
        var grads = set.Gradients.ToDoubleArray();
        const double lr = 0.05;
        sgd.Step(lr);
        var after = set.Values.ToDoubleArray();

        // First step from zero momentum: buf = g' and Nesterov's direction is g' + μ·g'.
        for (int i = 0; i < before.Length; i++)
        {
            double g = grads[i] + (i < set.DecayedCount ? 1e-2 * before[i] : 0);
            Assert.Equal(before[i] - lr * (g + 0.9 * g), after[i], 1e-15);
        }
        Assert.Contains(grads, g => g != 0); // the step really moved something
    }

    /// <summary>Four classes of 6x6 images: a class is a bright quadrant on noise.</summary>
    private static (Tensor Images, Tensor Labels) SyntheticBatch(int count, int seed)
    {
        var random = new Random(seed);
        var pixels = new float[count * 6 * 6 * 3];
        var labels = new int[count];
        for (int n = 0; n < count; n++)
        {
            int label = labels[n] = random.Next(4);
            for (int h = 0; h < 6; h++)
            for (int w = 0; w < 6; w++)
            {
                bool lit = (h < 3) == (label < 2) && (w < 3) == (label % 2 == 0);
                for (int c = 0; c < 3; c++) pixels[((n * 6 + h) * 6 + w) * 3 + c] = (lit ? 1.5f : 0f) + 0.5f * (float)Tensor.NextGaussian(random);
            }
        }
        return (Tensor.FromArray(Make.Cpu, pixels, [count, 6, 6, 3]), Tensor.FromArray(Make.Cpu, labels, [count]));
    }

    [Fact]
    public void TinyNetwork_LearnsASeededSyntheticTask()
    {
        const int steps = 60;
        const double requiredFactor = 4; // mean loss of the last 10 steps vs the first 10
        var net = new TinyNet(classes: 4);
        var set = ParameterSet.Create(net, Make.Cpu, seed: 41);
        var sgd = new Sgd(set, momentum: 0.9, weightDecay: 5e-4);
        var losses = new List<double>();
        for (int step = 0; step < steps; step++)
        {
            var (images, labels) = SyntheticBatch(32, 1000 + step);
            using (TensorScope.Begin())
            {
                set.ZeroGrad();
                var loss = Loss(net, images, labels, 0);
                loss.Backward();
                sgd.Step(0.1);
                losses.Add(loss.Item());
            }
        }
        double first = losses.Take(10).Average(), last = losses.TakeLast(10).Average();
        Assert.True(first / last >= requiredFactor, $"loss fell from {first:F3} to {last:F3} (×{first / last:F1}); required ×{requiredFactor}");
    }
}
