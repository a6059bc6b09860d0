using Igcv3.Engine;
using Igcv3.Engine.Cpu;
using Igcv3.Tests.Support;
using Xunit;

namespace Igcv3.Tests.Engine;

public class BatchNormTests
{
    /// <summary>Distance that every pre-activation keeps from the kinks of ReLU/ReLU6 (0 and 6): a
    /// ±1e-6 finite-difference step moves a pre-activation by about |γ|·invstd·1e-6, ~1e-5 for these
    /// inputs, so no central difference straddles a kink (were one to, the check would fail, not pass).</summary>
    private const double KinkMargin = 1e-4;

    private sealed record Inputs(Tensor X, Tensor Gamma, Tensor Beta, Tensor RunningMean, Tensor RunningVar);

    /// <summary>x ~ U(-1, 1); γ ~ ±U(3, 4.5) and β ~ U(1.5, 2.5), so that γ·x̂ + β lands below 0, in
    /// (0, 6) and above 6: both kinks of ReLU6 are crossed. Running variance ~ U(0.3, 0.6) &gt; 0.</summary>
    private static Inputs MakeInputs(Shape xShape, int seed, DType dtype = DType.F64)
    {
        int channels = xShape[-1];
        var random = new Random(seed);
        var gamma = new double[channels];
        var beta = new double[channels];
        var runningMean = new double[channels];
        var runningVar = new double[channels];
        for (int c = 0; c < channels; c++)
        {
            gamma[c] = (random.Next(2) == 0 ? -1 : 1) * (3 + 1.5 * random.NextDouble());
            beta[c] = 1.5 + random.NextDouble();
            runningMean[c] = 0.4 * random.NextDouble() - 0.2;
            runningVar[c] = 0.3 + 0.3 * random.NextDouble();
        }
        return new Inputs(
            Make.Random(xShape, seed + 1, dtype),
            Tensor.FromHostDoubles(Make.Cpu, gamma, [channels], dtype),
            Tensor.FromHostDoubles(Make.Cpu, beta, [channels], dtype),
            Tensor.FromHostDoubles(Make.Cpu, runningMean, [channels], dtype),
            Tensor.FromHostDoubles(Make.Cpu, runningVar, [channels], dtype));
    }

    private static Tensor Run(Inputs p, BatchNormSpec spec) => Ops.BatchNorm(p.X, p.Gamma, p.Beta, p.RunningMean, p.RunningVar, spec);

    /// <summary>The test's precondition, checked rather than hoped for: pre-activations keep
    /// <see cref="KinkMargin"/> from 0 and 6, and the set as a whole crosses both.</summary>
    private static void AssertKinksCrossedButNotTouched(Inputs p, bool training)
    {
        double[] z;
        using (GradMode.NoGrad())
        {
            // A copy of the running statistics, so that this probe does not move them.
            var probe = p with { RunningMean = Copy(p.RunningMean), RunningVar = Copy(p.RunningVar) };
            z = Run(probe, new BatchNormSpec(training)).ToDoubleArray();
        }
        Assert.All(z, v => Assert.True(Math.Abs(v) > KinkMargin && Math.Abs(v - 6) > KinkMargin, $"pre-activation {v} lies within {KinkMargin} of a kink"));
        Assert.Contains(z, v => v < 0);
        Assert.Contains(z, v => v > 6);
        Assert.Contains(z, v => v > 0 && v < 6);
    }

    private static Tensor Copy(Tensor t) => Tensor.FromArray(Make.Cpu, t.ToDoubleArray(), t.Shape);

    public static TheoryData<int[], Activation> TrainingCases() => new()
    {
        { [3, 1, 1, 5], Activation.None },   // H = W = 1: three values per channel
        { [3, 1, 1, 5], Activation.Relu6 },
        { [1, 5, 5, 3], Activation.Relu },   // batch 1
        { [1, 5, 5, 3], Activation.Relu6 },
        { [3, 5, 5, 7], Activation.None },
        { [3, 5, 5, 7], Activation.Relu },
        { [3, 5, 5, 7], Activation.Relu6 },
        { [6, 5], Activation.Relu6 },        // [N, C] (after a linear layer)
    };

    [Theory]
    [MemberData(nameof(TrainingCases))]
    public void Training_GradientMatchesFiniteDifferences(int[] shape, Activation activation)
    {
        var p = MakeInputs(shape, 10 + shape.Sum());
        AssertKinksCrossedButNotTouched(p, training: true);
        var spec = new BatchNormSpec(Training: true, Activation: activation);
        GradCheck.Check($"batch_norm train {activation} {new Shape(shape)}", () => Run(p, spec), [p.X, p.Gamma, p.Beta]);
    }

    public static TheoryData<int[], Activation> EvalCases() => new()
    {
        { [1, 1, 1, 3], Activation.Relu6 },  // batch 1, H = W = 1: one value per channel is fine in eval
        { [3, 5, 5, 7], Activation.None },
        { [3, 5, 5, 7], Activation.Relu },
        { [3, 5, 5, 7], Activation.Relu6 },
        { [1, 4], Activation.Relu },
    };

    [Theory]
    [MemberData(nameof(EvalCases))]
    public void Eval_GradientMatchesFiniteDifferences(int[] shape, Activation activation)
    {
        var p = MakeInputs(shape, 20 + shape.Sum());
        if (shape.Aggregate(1, (a, b) => a * b) > 20) AssertKinksCrossedButNotTouched(p, training: false);
        var spec = new BatchNormSpec(Training: false, Activation: activation);
        GradCheck.Check($"batch_norm eval {activation} {new Shape(shape)}", () => Run(p, spec), [p.X, p.Gamma, p.Beta]);
    }

    [Fact]
    public void GradientToXOnly_LeavesParametersWithoutGradient()
    {
        var p = MakeInputs([2, 3, 3, 5], 5);
        GradCheck.Check("batch_norm dx only", () => Run(p, new BatchNormSpec(true, Activation: Activation.Relu6)), [p.X]);
        Assert.Null(p.Gamma.Grad);
        Assert.Null(p.Beta.Grad);
        Assert.Null(p.RunningMean.Grad);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Backward_AccumulatesIntoGradients(bool training)
    {
        var p = MakeInputs([3, 5, 5, 7], 6);
        var spec = new BatchNormSpec(training, Activation: Activation.Relu6);
        AccumulationCheck.AssertAccumulates("batch_norm", () => Run(p, spec), [p.X, p.Gamma, p.Beta]);
    }

    /// <summary>Per-channel mean and variance of x [.., C] computed naively in the test.</summary>
    private static (double[] Mean, double[] Biased, double[] Unbiased) Stats(double[] x, int channels)
    {
        int rows = x.Length / channels;
        var mean = new double[channels];
        var biased = new double[channels];
        var unbiased = new double[channels];
        for (int c = 0; c < channels; c++)
        {
            double sum = 0;
            for (int r = 0; r < rows; r++) sum += x[r * channels + c];
            mean[c] = sum / rows;
            double squares = 0;
            for (int r = 0; r < rows; r++) squares += (x[r * channels + c] - mean[c]) * (x[r * channels + c] - mean[c]);
            biased[c] = squares / rows;
            unbiased[c] = squares / (rows - 1);
        }
        return (mean, biased, unbiased);
    }

    private static double ReferenceActivation(Activation activation, double v) => activation switch
    {
        Activation.Relu => v < 0 ? 0 : v,
        Activation.Relu6 => v < 0 ? 0 : v > 6 ? 6 : v,
        _ => v,
    };

    private static void AssertClose(double[] expected, double[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * (1 + Math.Abs(expected[i])), $"{what}[{i}]: expected {expected[i]:G17}, got {actual[i]:G17}");
        }
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.35)]
    [InlineData(1.0)]
    public void Training_RunningStatsAfterOneAndTwoSteps_FollowMomentumWithUnbiasedVariance(double momentum)
    {
        const int channels = 5;
        var p = MakeInputs([2, 3, 3, channels], 7);
        var x2 = Make.Random([2, 3, 3, channels], 8, scale: 2.5);
        var spec = new BatchNormSpec(true, momentum);
        double[] mean = p.RunningMean.ToDoubleArray(), variance = p.RunningVar.ToDoubleArray();

        foreach (var x in new[] { p.X, x2 })
        {
            Run(p with { X = x }, spec);
            var s = Stats(x.ToDoubleArray(), channels);
            for (int c = 0; c < channels; c++)
            {
                mean[c] = (1 - momentum) * mean[c] + momentum * s.Mean[c];
                variance[c] = (1 - momentum) * variance[c] + momentum * s.Unbiased[c];
            }
            AssertClose(mean, p.RunningMean.ToDoubleArray(), 1e-14, "running mean");
            AssertClose(variance, p.RunningVar.ToDoubleArray(), 1e-14, "running var");
        }
    }

    [Theory]
    [InlineData(Activation.None)]
    [InlineData(Activation.Relu6)]
    public void Training_OutputNormalisesWithBiasedBatchVariance(Activation activation)
    {
        const int channels = 7;
        const double eps = 1e-3;
        var p = MakeInputs([3, 5, 5, channels], 9);
        var y = Run(p, new BatchNormSpec(true, Epsilon: eps, Activation: activation)).ToDoubleArray();
        double[] x = p.X.ToDoubleArray(), g = p.Gamma.ToDoubleArray(), b = p.Beta.ToDoubleArray();
        var s = Stats(x, channels);
        var expected = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            int c = i % channels;
            expected[i] = ReferenceActivation(activation, g[c] * (x[i] - s.Mean[c]) / Math.Sqrt(s.Biased[c] + eps) + b[c]);
        }
        AssertClose(expected, y, 1e-13, "y");
    }

    [Theory]
    [InlineData(Activation.None)]
    [InlineData(Activation.Relu)]
    [InlineData(Activation.Relu6)]
    public void Eval_OutputUsesRunningStatsAndLeavesThemUnchanged(Activation activation)
    {
        const int channels = 5;
        const double eps = 2e-5;
        var p = MakeInputs([3, 5, 5, channels], 11);
        double[] runningMean = p.RunningMean.ToDoubleArray(), runningVar = p.RunningVar.ToDoubleArray();
        var y = Run(p, new BatchNormSpec(false, Epsilon: eps, Activation: activation)).ToDoubleArray();
        double[] x = p.X.ToDoubleArray(), g = p.Gamma.ToDoubleArray(), b = p.Beta.ToDoubleArray();
        var expected = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            int c = i % channels;
            expected[i] = ReferenceActivation(activation, g[c] * (x[i] - runningMean[c]) / Math.Sqrt(runningVar[c] + eps) + b[c]);
        }
        AssertClose(expected, y, 1e-13, "y");
        Assert.Equal(runningMean, p.RunningMean.ToDoubleArray());
        Assert.Equal(runningVar, p.RunningVar.ToDoubleArray());
    }

    [Fact]
    public void Training_Float_KeepsStatisticsAccurateForLargeBatchesWithLargeMean()
    {
        // M = 64·32·32 values per channel around 1000 with std 0.1: a float accumulator of Σx and
        // Σx² would lose the variance to cancellation; the statistics must match a double
        // computation over the same float values.
        const int channels = 3;
        Shape shape = [64, 32, 32, channels];
        var random = new Random(12);
        var values = new double[shape.Count];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(1000 + 0.1 * Tensor.NextGaussian(random));
        var x = Tensor.FromHostDoubles(Make.Cpu, values, shape, DType.F32);
        var ones = Tensor.FromArray(Make.Cpu, new float[] { 1, 1, 1 }, [channels]);
        var zeros = Tensor.Zeros(Make.Cpu, [channels]);
        var runningMean = Tensor.Zeros(Make.Cpu, [channels]);
        var runningVar = Tensor.Zeros(Make.Cpu, [channels]);
        Ops.BatchNorm(x, ones, zeros, runningMean, runningVar, new BatchNormSpec(true, Momentum: 1.0));
        var s = Stats(values, channels);
        AssertClose(s.Mean, runningMean.ToDoubleArray(), 1e-7, "mean");
        AssertClose(s.Unbiased, runningVar.ToDoubleArray(), 1e-6, "unbiased variance");
    }

    // ---- validation ---------------------------------------------------------------------

    private static ArgumentException AssertRejects(Action call, params string[] fragments)
    {
        var e = Assert.Throws<ArgumentException>(call);
        Assert.StartsWith("batch_norm:", e.Message);
        foreach (var fragment in fragments) Assert.Contains(fragment, e.Message);
        return e;
    }

    [Fact]
    public void Rejects_XWithoutChannelAxis()
    {
        var p = MakeInputs([4], 1);
        AssertRejects(() => Run(p, new BatchNormSpec(false)), "[4]");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Rejects_ParameterNotShapedPerChannel(int which)
    {
        var p = MakeInputs([2, 3, 3, 5], 1);
        var wrong = Make.Random([6], 2);
        var bad = which switch
        {
            0 => p with { Gamma = wrong },
            1 => p with { Beta = wrong },
            2 => p with { RunningMean = wrong },
            _ => p with { RunningVar = Make.Random([1, 5], 2) },
        };
        string name = new[] { "gamma", "beta", "runningMean", "runningVar" }[which];
        AssertRejects(() => Run(bad, new BatchNormSpec(true)), name, "[5]", "[2, 3, 3, 5]");
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1e-5)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Rejects_NonPositiveEpsilon(double eps)
    {
        var p = MakeInputs([2, 3], 1);
        AssertRejects(() => Run(p, new BatchNormSpec(true, Epsilon: eps)), "epsilon");
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void Rejects_MomentumOutsideUnitInterval(double momentum)
    {
        var p = MakeInputs([2, 3], 1);
        AssertRejects(() => Run(p, new BatchNormSpec(true, momentum)), "momentum");
    }

    [Fact]
    public void Rejects_UnknownActivation()
    {
        var p = MakeInputs([2, 3], 1);
        AssertRejects(() => Run(p, new BatchNormSpec(true, Activation: (Activation)7)), "activation");
    }

    [Theory]
    [InlineData(new[] { 1, 1, 1, 4 })]
    [InlineData(new[] { 1, 4 })]
    public void Training_RejectsOneValuePerChannel_EvalAcceptsIt(int[] shape)
    {
        var p = MakeInputs(shape, 1);
        var runningMean = p.RunningMean.ToDoubleArray();
        AssertRejects(() => Run(p, new BatchNormSpec(true)), "one value per channel", new Shape(shape).ToString());
        Assert.Equal(runningMean, p.RunningMean.ToDoubleArray()); // nothing was updated
        Assert.Equal(shape, Run(p, new BatchNormSpec(false)).Shape.ToArray());
    }

    [Fact]
    public void Rejects_DTypeMismatch()
    {
        var p = MakeInputs([2, 3], 1);
        AssertRejects(() => Run(p with { Gamma = Make.Random([3], 2, DType.F32) }, new BatchNormSpec(true)), "gamma", "F32", "F64");
    }

    [Fact]
    public void Rejects_IntegerInput()
    {
        var p = MakeInputs([2, 3], 1);
        var x = Tensor.FromArray(Make.Cpu, new[] { 1, 2, 3, 4, 5, 6 }, [2, 3]);
        AssertRejects(() => Run(p with { X = x }, new BatchNormSpec(true)), "I32");
    }

    [Fact]
    public void Rejects_DeviceMismatch()
    {
        var p = MakeInputs([2, 3], 1);
        var elsewhere = Tensor.Zeros(new CpuBackend(), [3], DType.F64);
        AssertRejects(() => Run(p with { RunningVar = elsewhere }, new BatchNormSpec(true)), "runningVar", "device");
    }

    [Theory]
    [InlineData(Activation.Relu6)]
    [InlineData(Activation.None)]
    public void Float_WideChannelsAndManyRows_MatchNaiveDoubleFormulas(Activation activation)
    {
        // 4·20·20 = 1600 rows (two 1024-row chunks) of 19 channels in float: the vector loops
        // (8 floats, 4 doubles wide) and their scalar tails, which the small shapes above leave out.
        int rows = 1600, channels = 19;
        var p = MakeInputs([4, 20, 20, channels], 41, DType.F32);
        var seed = Make.Random([4, 20, 20, channels], 42, DType.F32);
        p.X.RequiresGrad = true;
        p.Gamma.RequiresGrad = true;
        p.Beta.RequiresGrad = true;
        var y = Ops.BatchNorm(p.X, p.Gamma, p.Beta, p.RunningMean, p.RunningVar, new BatchNormSpec(true, Activation: activation));
        y.Backward(seed);

        double[] x = p.X.ToDoubleArray(), gamma = p.Gamma.ToDoubleArray(), beta = p.Beta.ToDoubleArray(), dy = seed.ToDoubleArray();
        var (mean, biased, _) = Stats(x, channels);
        var expectedY = new double[x.Length];
        var ghat = new double[x.Length];
        var xhat = new double[x.Length];
        var sumG = new double[channels];
        var sumGX = new double[channels];
        for (int i = 0; i < x.Length; i++)
        {
            int c = i % channels;
            xhat[i] = (x[i] - mean[c]) / Math.Sqrt(biased[c] + 1e-5);
            double z = gamma[c] * xhat[i] + beta[c];
            bool passes = activation == Activation.None || (z > 0 && z < 6);
            expectedY[i] = activation == Activation.None ? z : Math.Clamp(z, 0, 6);
            ghat[i] = passes ? dy[i] : 0;
            sumG[c] += ghat[i];
            sumGX[c] += ghat[i] * xhat[i];
        }
        var expectedDx = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            int c = i % channels;
            expectedDx[i] = gamma[c] / Math.Sqrt(biased[c] + 1e-5) * (ghat[i] - sumG[c] / rows - xhat[i] * sumGX[c] / rows);
        }
        AssertClose(expectedY, y.ToDoubleArray(), 1e-5, "y");
        AssertClose(expectedDx, p.X.Grad!.ToDoubleArray(), 1e-4, "dx");
        AssertClose(sumGX, p.Gamma.Grad!.ToDoubleArray(), 1e-4, "dgamma");
        AssertClose(sumG, p.Beta.Grad!.ToDoubleArray(), 1e-4, "dbeta");
    }
}
