using Igcv3.Engine;
using Igcv3.Tests.Support;
using Xunit;

namespace Igcv3.Tests.Engine;

/// <summary>A convolution that computes the batch statistics of its output for the batch norm after
/// it (<see cref="BatchStatistics"/>) against the unfused pair on the CPU reference: the same
/// outputs, running statistics and gradients. In double the CPU's fused form is the same arithmetic
/// as the unfused one, so they must agree bit for bit; in float the norm applies the saved float
/// statistics instead of their double originals, a difference of float rounding.</summary>
public class FusedBatchStatisticsTests
{
    [Theory]
    [InlineData(DType.F64, 2, 0, 2, Activation.Relu6, false)]
    [InlineData(DType.F64, 1, 3, 0, Activation.None, true)]
    [InlineData(DType.F32, 2, 2, 3, Activation.Relu, false)]
    [InlineData(DType.F32, 3, 0, 0, Activation.None, true)]
    public void PointwiseThenBatchNorm_FusedEqualsUnfused(DType dtype, int groups, int inShuffle, int outShuffle, Activation activation, bool withResidual)
    {
        const int n = 3, h = 5, w = 4, cin = 12, cout = 18;
        var pwSpec = new PointwiseSpec(groups, inShuffle, outShuffle);
        var bnSpec = new BatchNormSpec(true, 0.1, 1e-5, activation);
        var dy = Make.Random([n, h, w, cout], 5, dtype);

        // The residual add of a block, fused into the norm's apply or run after it.
        (double[] Y, double[] RunMean, double[] RunVar, double[] Dx, double[] Dw, double[] Dgamma, double[] Dbeta, double[] Dr, bool Computed) Run(bool fused)
        {
            var residual = Make.Random([n, h, w, cout], 7, dtype);
            residual.RequiresGrad = true;
            var x = Make.Random([n, h, w, cin], 1, dtype);
            var wt = Make.Random([cout, cin / groups], 2, dtype);
            var gamma = Make.Random([cout], 3, dtype, scale: 2);
            var beta = Make.Random([cout], 4, dtype);
            var runMean = Make.Random([cout], 6, dtype);
            var runVar = Tensor.FromHostDoubles(Make.Cpu, Enumerable.Range(0, cout).Select(i => 0.5 + i / 10.0).ToArray(), [cout], dtype);
            foreach (var t in new[] { x, wt, gamma, beta }) t.RequiresGrad = true;
            var statistics = fused ? new BatchStatistics(runMean, runVar, bnSpec.Momentum, bnSpec.Epsilon) : null;
            var z = Ops.Pointwise(x, wt, pwSpec, statistics);
            var y = !withResidual ? Ops.BatchNorm(z, gamma, beta, runMean, runVar, bnSpec, statistics)
                : fused ? Ops.BatchNorm(z, gamma, beta, runMean, runVar, bnSpec, statistics, residual)
                : Ops.Add(residual, Ops.BatchNorm(z, gamma, beta, runMean, runVar, bnSpec));
            y.Backward(dy);
            return (y.ToDoubleArray(), runMean.ToDoubleArray(), runVar.ToDoubleArray(), x.Grad!.ToDoubleArray(), wt.Grad!.ToDoubleArray(),
                gamma.Grad!.ToDoubleArray(), beta.Grad!.ToDoubleArray(), withResidual ? residual.Grad!.ToDoubleArray() : [], statistics?.Computed ?? false);
        }

        var unfused = Run(fused: false);
        var fused = Run(fused: true);
        Assert.True(fused.Computed, "the CPU backend computes the statistics asked for");
        double tolerance = dtype == DType.F64 ? 0 : 2e-6;
        AssertClose("y", unfused.Y, fused.Y, tolerance);
        AssertClose("running mean", unfused.RunMean, fused.RunMean, tolerance);
        AssertClose("running var", unfused.RunVar, fused.RunVar, tolerance);
        AssertClose("dx", unfused.Dx, fused.Dx, tolerance);
        AssertClose("dw", unfused.Dw, fused.Dw, tolerance);
        AssertClose("dgamma", unfused.Dgamma, fused.Dgamma, tolerance);
        AssertClose("dbeta", unfused.Dbeta, fused.Dbeta, tolerance);
        AssertClose("d residual", unfused.Dr, fused.Dr, tolerance);
    }

    [Theory]
    [InlineData(DType.F64, 1)]
    [InlineData(DType.F64, 2)]
    [InlineData(DType.F32, 2)]
    public void DepthwiseThenBatchNorm_FusedEqualsUnfused(DType dtype, int stride)
    {
        const int n = 2, h = 7, w = 6, c = 10;
        var bnSpec = new BatchNormSpec(true, 0.1, 1e-5, Activation.Relu6);
        var dy = Make.Random([n, (h - 1) / stride + 1, (w - 1) / stride + 1, c], 5, dtype);

        double[][] Run(bool fused)
        {
            var x = Make.Random([n, h, w, c], 1, dtype);
            var wt = Make.Random([c, 3, 3], 2, dtype);
            var gamma = Make.Random([c], 3, dtype, scale: 2);
            var beta = Make.Random([c], 4, dtype);
            var runMean = Make.Random([c], 6, dtype);
            var runVar = Tensor.FromHostDoubles(Make.Cpu, Enumerable.Range(0, c).Select(i => 0.5 + i / 10.0).ToArray(), [c], dtype);
            foreach (var t in new[] { x, wt, gamma, beta }) t.RequiresGrad = true;
            var statistics = fused ? new BatchStatistics(runMean, runVar, bnSpec.Momentum, bnSpec.Epsilon) : null;
            var y = Ops.BatchNorm(Ops.Depthwise3x3(x, wt, stride, statistics), gamma, beta, runMean, runVar, bnSpec, statistics);
            y.Backward(dy);
            if (fused) Assert.True(statistics!.Computed, "the CPU backend computes the statistics asked for");
            return [y.ToDoubleArray(), runMean.ToDoubleArray(), runVar.ToDoubleArray(), x.Grad!.ToDoubleArray(), wt.Grad!.ToDoubleArray(),
                gamma.Grad!.ToDoubleArray(), beta.Grad!.ToDoubleArray()];
        }

        var unfused = Run(fused: false);
        var fused = Run(fused: true);
        string[] names = ["y", "running mean", "running var", "dx", "dw", "dgamma", "dbeta"];
        for (int i = 0; i < names.Length; i++) AssertClose(names[i], unfused[i], fused[i], dtype == DType.F64 ? 0 : 2e-6);
    }

    [Fact]
    public void StatisticsOfAnotherNorm_AreRejected()
    {
        var x = Make.Random([2, 2, 2, 4], 1);
        var wt = Make.Random([6, 4], 2);
        Tensor Ones() => Tensor.FromHostDoubles(Make.Cpu, [1, 1, 1, 1, 1, 1], [6], DType.F64);
        var statistics = new BatchStatistics(Ones(), Ones(), 0.1, 1e-5);
        var z = Ops.Pointwise(x, wt, new PointwiseSpec(Groups: 1), statistics);
        var error = Assert.ThrowsAny<ArgumentException>(() => Ops.BatchNorm(z, Ones(), Ones(), Ones(), Ones(), new BatchNormSpec(true), statistics));
        Assert.Contains("another batch norm", error.Message);
    }

    private static void AssertClose(string what, double[] expected, double[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs(expected[i] - actual[i]) / Math.Max(1, Math.Abs(expected[i]));
            Assert.True(error <= tolerance, $"{what}[{i}]: unfused {expected[i]:R}, fused {actual[i]:R} (relative error {error:g3} > {tolerance})");
        }
    }
}
