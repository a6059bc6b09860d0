using Igcv3.Engine;
using Xunit;

namespace Igcv3.Tests.Support;

/// <summary>Backward kernels must ADD into the gradients they are given (IBackend's convention).
/// Two backward passes from the same seed must leave exactly twice the gradient of one; a kernel
/// that overwrote (=) instead would leave the gradient of one.</summary>
public static class AccumulationCheck
{
    public static void AssertAccumulates(string what, Func<Tensor> function, IReadOnlyList<Tensor> inputs, int seed = 99)
    {
        foreach (var input in inputs)
        {
            input.RequiresGrad = true;
            input.Grad = null;
        }
        var first = function();
        var weights = Tensor.RandomUniform(first.Backend, first.Shape, new Random(seed), -1, 1, first.DType);
        first.Backward(weights);
        var once = inputs.Select(t => t.Grad!.ToDoubleArray()).ToArray();
        function().Backward(weights);
        for (int i = 0; i < inputs.Count; i++)
        {
            var twice = inputs[i].Grad!.ToDoubleArray();
            for (int k = 0; k < twice.Length; k++)
            {
                double expected = 2 * once[i][k];
                Assert.True(Math.Abs(twice[k] - expected) <= 1e-12 * (1 + Math.Abs(expected)),
                    $"{what}: input {i} [{k}] after two backward passes is {twice[k]:G17}, expected twice {once[i][k]:G17}");
            }
        }
    }
}
