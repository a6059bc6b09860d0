using Igcv3.Engine;
using Igcv3.Engine.Cpu;
using Igcv3.Kernels.Cuda;
using Xunit;

namespace Igcv3.Tests.Kernels;

/// <summary>
/// The cuBLAS variant of the grouped 1x1 convolution (<see cref="PointwiseGemm.Cublas"/>), run
/// without a GPU on a <see cref="RecordingQueue"/> that interprets its strided-batched SGEMMs and
/// channel shuffles, against the CPU reference: a wrong operation, leading dimension, stride,
/// beta or permutation direction shows here. Inputs are views at unaligned offsets; gradients
/// start non-zero, so accumulation is checked too.
/// </summary>
public sealed class PointwiseCublasMappingTests
{
    public static TheoryData<int, int, int, int, int, int> Cases() => new()
    {
        // M, Cin, Cout, groups, inShuffle, outShuffle
        { 7, 5, 3, 1, 0, 0 },
        { 9, 12, 18, 3, 0, 0 },
        { 6, 12, 18, 3, 3, 6 },
        { 5, 20, 30, 2, 2, 15 },
        { 4, 8, 16, 2, 0, 2 },   // the IGCV3-D expansion: G1 = 2, output permutation 2
        { 3, 16, 8, 2, 4, 0 },
        { 2, 6, 4, 1, 3, 2 },    // one group, both permutations
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void CublasPath_MatchesTheCpuReference(int m, int cin, int cout, int groups, int inShuffle, int outShuffle)
    {
        var random = new Random(m * 1000 + cin * 10 + groups);
        float[] Values(int count) => [.. Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1))];
        var spec = new PointwiseSpec(groups, inShuffle, outShuffle);
        int kg = cin / groups;
        float[] x = Values(m * cin), w = Values(cout * kg), dy = Values(m * cout), dx0 = Values(m * cin), dw0 = Values(cout * kg);

        var cpu = CpuBackend.Instance;
        var cy = Tensor.Zeros(cpu, [m, cout]);
        var cdx = Tensor.FromArray(cpu, dx0, [m, cin]);
        var cdw = Tensor.FromArray(cpu, dw0, [cout, kg]);
        var cx = Tensor.FromArray(cpu, x, [m, cin]);
        var cw = Tensor.FromArray(cpu, w, [cout, kg]);
        cpu.PointwiseForward(cx, cw, cy, spec);
        cpu.PointwiseBackward(cx, cw, Tensor.FromArray(cpu, dy, [m, cout]), cdx, cdw, spec);

        var queue = new RecordingQueue();
        using var gpu = queue.Backend();
        gpu.PointwiseGemm = PointwiseGemm.Cublas;
        var gy = RecordingQueue.UnalignedView(gpu, [.. Enumerable.Repeat(float.NaN, m * cout)], m, cout); // overwritten, never read
        var gdx = RecordingQueue.UnalignedView(gpu, dx0, m, cin);
        var gdw = RecordingQueue.UnalignedView(gpu, dw0, cout, kg);
        var gx = RecordingQueue.UnalignedView(gpu, x, m, cin);
        var gw = RecordingQueue.UnalignedView(gpu, w, cout, kg);
        gpu.PointwiseForward(gx, gw, gy, spec);
        gpu.PointwiseBackward(gx, gw, RecordingQueue.UnalignedView(gpu, dy, m, cout), gdx, gdw, spec);

        Assert.DoesNotContain(queue.Launches, l => l.Kernel.StartsWith("pointwise_"));
        Close(cy.ToFloatArray(), gy.ToFloatArray(), "y");
        Close(cdx.ToFloatArray(), gdx.ToFloatArray(), "dx");
        Close(cdw.ToFloatArray(), gdw.ToFloatArray(), "dw");
    }

    private static void Close(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 * Math.Max(1, Math.Abs(expected[i])), $"{what}[{i}]: CPU {expected[i]}, cuBLAS path {actual[i]}");
        }
    }
}
