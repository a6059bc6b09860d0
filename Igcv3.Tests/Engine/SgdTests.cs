using Igcv3.Engine;
using Igcv3.Engine.Nn;
using Igcv3.Tests.Support;
using Xunit;

namespace Igcv3.Tests.Engine;

public class SgdTests
{
    private sealed class TwoParameters : Module
    {
        public TwoParameters()
        {
            AddParameter("weight", [5], Init.Normal(1.0));
            AddParameter("bias", [3], Init.Normal(1.0), decay: false);
        }

        public override Tensor Forward(Tensor x) => throw new NotSupportedException("the SGD tests set gradients directly");
    }

    /// <summary>torch.optim.SGD's update, written out independently of the kernel.</summary>
    private static void Reference(double[] p, double[] g, double[] buf, double lr, double mu, bool nesterov, double wd, long decayed)
    {
        for (int i = 0; i < p.Length; i++)
        {
            double d = g[i] + (i < decayed ? wd * p[i] : 0);
            buf[i] = mu * buf[i] + d;
            if (nesterov) d += mu * buf[i];
            else d = buf[i];
            p[i] -= lr * d;
        }
    }

    [Theory]
    [InlineData(0.0, false, 0.0, false)]
    [InlineData(0.9, false, 5e-4, false)]
    [InlineData(0.9, true, 1e-4, false)]
    [InlineData(0.9, true, 1e-2, true)]
    public void ThreeSteps_MatchTheFormula(double momentum, bool nesterov, double weightDecay, bool exempt)
    {
        var set = ParameterSet.Create(new TwoParameters(), Make.Cpu, seed: 11, DType.F64);
        var sgd = new Sgd(set, momentum, nesterov, weightDecay, exempt);
        var p = set.Values.ToDoubleArray();
        var buf = new double[p.Length];
        var random = new Random(12);
        for (int step = 0; step < 3; step++)
        {
            var g = Enumerable.Range(0, p.Length).Select(_ => random.NextDouble() - 0.5).ToArray();
            set.Gradients.Backend.Upload<double>(g, set.Gradients);
            double lr = 0.1 / (step + 1);
            sgd.Step(lr);
            Reference(p, g, buf, lr, momentum, nesterov, weightDecay, exempt ? set.DecayedCount : p.Length);
            var actual = set.Values.ToDoubleArray();
            for (int i = 0; i < p.Length; i++) Assert.Equal(p[i], actual[i], 1e-14);
        }
        // The exempt parameters are exactly the last three (the bias); with weight decay they end
        // where a decayed update would not have put them.
        Assert.Equal(5, set.DecayedCount);
        if (exempt)
        {
            var decayedEverywhere = ThreeDecayedSteps(momentum, nesterov, weightDecay);
            var actual = set.Values.ToDoubleArray();
            for (int i = 0; i < 5; i++) Assert.Equal(decayedEverywhere[i], actual[i], 1e-14);
            for (int i = 5; i < actual.Length; i++) Assert.True(Math.Abs(decayedEverywhere[i] - actual[i]) > 1e-6, $"element {i} was decayed");
        }
    }

    /// <summary>The same three steps (same seeds) with no parameter exempt from weight decay.</summary>
    private static double[] ThreeDecayedSteps(double momentum, bool nesterov, double weightDecay)
    {
        var set = ParameterSet.Create(new TwoParameters(), Make.Cpu, seed: 11, DType.F64);
        var sgd = new Sgd(set, momentum, nesterov, weightDecay, exemptNoDecay: false);
        var random = new Random(12);
        for (int step = 0; step < 3; step++)
        {
            var g = Enumerable.Range(0, (int)set.Count).Select(_ => random.NextDouble() - 0.5).ToArray();
            set.Gradients.Backend.Upload<double>(g, set.Gradients);
            sgd.Step(0.1 / (step + 1));
        }
        return set.Values.ToDoubleArray();
    }

    /// <summary>The rate read from a tensor when the step runs (a replayed graph's form) gives the
    /// same parameters as the same rates passed as numbers.</summary>
    [Fact]
    public void RateFromATensor_MatchesTheRateAsANumber()
    {
        var expected = ThreeDecayedSteps(0.9, true, 5e-4);
        var set = ParameterSet.Create(new TwoParameters(), Make.Cpu, seed: 11, DType.F64);
        var sgd = new Sgd(set, 0.9, true, 5e-4, exemptNoDecay: false);
        var rate = Tensor.Zeros(Make.Cpu, [1], DType.F64);
        var random = new Random(12);
        for (int step = 0; step < 3; step++)
        {
            var g = Enumerable.Range(0, (int)set.Count).Select(_ => random.NextDouble() - 0.5).ToArray();
            set.Gradients.Backend.Upload<double>(g, set.Gradients);
            rate.UploadDoubles([0.1 / (step + 1)]);
            sgd.Step(rate);
        }
        Assert.Equal(expected, set.Values.ToDoubleArray());
        Assert.Contains("one F64 element", Assert.Throws<ArgumentException>(() => sgd.Step(Tensor.Zeros(Make.Cpu, [2], DType.F64))).Message);
        Assert.Contains("one F64 element", Assert.Throws<ArgumentException>(() => sgd.Step(Tensor.Zeros(Make.Cpu, [1], DType.F32))).Message);
    }

    [Fact]
    public void RejectsImpossibleSettings()
    {
        var set = ParameterSet.Create(new TwoParameters(), Make.Cpu, seed: 1, DType.F64);
        Assert.Contains("momentum", Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(set, momentum: 1.5)).Message);
        Assert.Contains("Nesterov", Assert.Throws<ArgumentException>(() => new Sgd(set, momentum: 0, nesterov: true)).Message);
        Assert.Contains("weight decay", Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(set, weightDecay: -1)).Message);
        Assert.Contains("learning rate", Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(set).Step(double.NaN)).Message);
    }
}
