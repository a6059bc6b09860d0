using Igcv3.Engine;
using Igcv3.Engine.Cpu;
using Xunit;

namespace Igcv3.Tests.Support;

/// <summary>
/// Finite-difference gradient checks in double precision on the CPU reference path.
/// The scalar probed is L = Σ y ⊙ r for a fixed random r, so every element of the output
/// contributes with its own weight (a plain sum would hide errors that cancel, e.g. in BN).
/// Backward is seeded with r; each input element is perturbed by ±h and the central
/// difference (L⁺ − L⁻)/2h is compared with the analytic gradient.
/// </summary>
public static class GradCheck
{
    /// <summary>Central difference step. In double, truncation error ~h² and round-off
    /// ~1e-16·|L|/h are both below 1e-9 for the sizes the tests use.</summary>
    public const double Step = 1e-6;

    /// <summary>Default threshold: |analytic − numeric| ≤ 1e-6 + 1e-5·|numeric|, orders of magnitude
    /// above the method's error in double and orders below any real mistake in a formula.</summary>
    public const double AbsoluteTolerance = 1e-6;

    public const double RelativeTolerance = 1e-5;

    /// <summary>Checks the gradient of every input tensor of <paramref name="inputs"/> (F64, CPU).
    /// <paramref name="function"/> must be deterministic: it is re-evaluated for every perturbation.
    /// By default every element of every input is perturbed; <paramref name="sampler"/>, given an
    /// input's index and element count, may choose a subset instead (for whole networks, where
    /// two forwards per element would take too long). <paramref name="step"/> overrides
    /// <see cref="Step"/> where the function has so many kinks (ReLU6 over a whole network) that
    /// ±1e-6 crosses one.</summary>
    public static void Check(string what, Func<Tensor> function, IReadOnlyList<Tensor> inputs, int seed = 1234,
        double absoluteTolerance = AbsoluteTolerance, double relativeTolerance = RelativeTolerance,
        Func<int, int, IEnumerable<int>>? sampler = null, double step = Step)
    {
        foreach (var input in inputs)
        {
            Assert.True(input.DType == DType.F64, $"{what}: gradient checks run in F64, {input} is {input.DType}");
            input.RequiresGrad = true;
            input.Grad = null;
        }

        var output = function();
        var random = new Random(seed);
        var weights = Tensor.RandomUniform(CpuBackend.Instance, output.Shape, random, -1, 1, DType.F64);
        output.Backward(weights);
        var r = weights.ToDoubleArray();

        for (int i = 0; i < inputs.Count; i++)
        {
            var input = inputs[i];
            Assert.True(input.Grad is not null, $"{what}: input {i} {input.Shape} received no gradient");
            var analytic = input.Grad!.ToDoubleArray();
            var data = CpuBackend.Span<double>(input);
            var elements = sampler?.Invoke(i, data.Length) ?? Enumerable.Range(0, data.Length);
            foreach (int k in elements)
            {
                double saved = data[k];
                data[k] = saved + step;
                double plus = WeightedSum(function, r);
                data = CpuBackend.Span<double>(input);
                data[k] = saved - step;
                double minus = WeightedSum(function, r);
                data = CpuBackend.Span<double>(input);
                data[k] = saved;
                double numeric = (plus - minus) / (2 * step);
                double error = Math.Abs(analytic[k] - numeric);
                if (error > absoluteTolerance + relativeTolerance * Math.Abs(numeric))
                {
                    Assert.Fail($"{what}: d/d input{i}{input.Shape}[{k}]: analytic {analytic[k]:G10}, numeric {numeric:G10}, error {error:G3}");
                }
            }
        }
    }

    /// <summary>A sampler that checks <paramref name="perInput"/> distinct elements of each input
    /// (all of them when it has fewer), chosen by a seeded generator.</summary>
    public static Func<int, int, IEnumerable<int>> RandomElements(int perInput, int seed = 99) => (input, count) =>
    {
        if (count <= perInput) return Enumerable.Range(0, count);
        var random = new Random(seed + input);
        var chosen = new HashSet<int>();
        while (chosen.Count < perInput) chosen.Add(random.Next(count));
        return chosen.Order().ToList();
    };

    private static double WeightedSum(Func<Tensor> function, double[] weights)
    {
        using var _ = GradMode.NoGrad();
        var y = function().ToDoubleArray();
        double sum = 0;
        for (int i = 0; i < y.Length; i++) sum += y[i] * weights[i];
        return sum;
    }
}
