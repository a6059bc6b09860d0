using Igcv3.Engine;
using Igcv3.Kernels;
using Igcv3.Kernels.Cuda;
using Xunit;

namespace Igcv3.Tests.Kernels;

/// <summary>
/// The CUDA launchers run against a <see cref="RecordingQueue"/> (no GPU): the launches they issue
/// are checked against the launch contracts in the kernels' headers (grids, argument values,
/// workspace sizes, which kernels run), and the linear layer's cuBLAS calls are executed by a naive
/// column-major SGEMM and compared with the row-major formulas, so a wrong transpose, leading
/// dimension or beta shows here rather than in the GPU session.
/// </summary>
public sealed class CudaLaunchContractTests
{
    private static readonly Random Rng = new(11);

    private static float[] Random(int count) => [.. Enumerable.Range(0, count).Select(_ => (float)(Rng.NextDouble() * 2 - 1))];

    private static ulong Base(Tensor t) => ((CudaStorage)t.Storage).Pointer;

    private static void Close(double[] expected, float[] actual, double tolerance = 1e-5)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * Math.Max(1, Math.Abs(expected[i])), $"element {i}: expected {expected[i]}, got {actual[i]}");
        }
    }

    [Theory]
    [InlineData(3, 5, 4)]
    [InlineData(1, 7, 2)]
    [InlineData(4, 1, 3)]
    [InlineData(2, 3, 1)]
    public void Linear_SgemmMapping_GivesTheRowMajorProducts_OverwritingYAndAccumulatingGradients(int n, int inputs, int outputs)
    {
        float[] x = Random(n * inputs), w = Random(outputs * inputs), dy = Random(n * outputs), dx0 = Random(n * inputs), dw0 = Random(outputs * inputs);
        // y = x·wᵀ; dx = dx0 + dy·w; dw = dw0 + dyᵀ·x, as plain loops over the row-major arrays.
        var y = new double[n * outputs];
        double[] dx = [.. dx0.Select(v => (double)v)], dw = [.. dw0.Select(v => (double)v)];
        for (int r = 0; r < n; r++)
        {
            for (int o = 0; o < outputs; o++)
            {
                for (int i = 0; i < inputs; i++)
                {
                    y[r * outputs + o] += (double)x[r * inputs + i] * w[o * inputs + i];
                    dx[r * inputs + i] += (double)dy[r * outputs + o] * w[o * inputs + i];
                    dw[o * inputs + i] += (double)dy[r * outputs + o] * x[r * inputs + i];
                }
            }
        }
        var queue = new RecordingQueue();
        using var gpu = queue.Backend();
        var tx = RecordingQueue.UnalignedView(gpu, x, n, inputs);
        var tw = RecordingQueue.UnalignedView(gpu, w, outputs, inputs);
        var ty = RecordingQueue.UnalignedView(gpu, [.. Enumerable.Repeat(float.NaN, n * outputs)], n, outputs); // beta = 0 must not read it
        var tdy = RecordingQueue.UnalignedView(gpu, dy, n, outputs);
        var tdx = RecordingQueue.UnalignedView(gpu, dx0, n, inputs);
        var tdw = RecordingQueue.UnalignedView(gpu, dw0, outputs, inputs);

        gpu.LinearForward(tx, tw, null, ty);
        gpu.LinearBackward(tx, tw, tdy, tdx, tdw, null);

        Assert.Equal(3, queue.Gemms);
        Close(y, ty.ToFloatArray());
        Close(dx, tdx.ToFloatArray());
        Close(dw, tdw.ToFloatArray());
    }

    /// <summary>The split weight-gradient pair: the split kernel overwrites partial [splits, count],
    /// so its block must hold splits·count floats; the splits cover every row with none empty and
    /// z = groups·splits within 65535; the reduce sums those splits into dw.</summary>
    /// <summary>A weight-gradient launch that splits its rows and finishes in each tile's last split:
    /// (dy, x, partial, counters, dw, ..geometry.., splits, rowsPerSplit, accumulate).</summary>
    private static void AssertSplitWeight(RecordingQueue queue, RecordingQueue.Launched weight,
        int splitsArg, int rows, int groups, int count, Tensor dw)
    {
        int splits = weight.Int(splitsArg), rowsPerSplit = weight.Int(splitsArg + 1);
        Assert.Equal((uint)(groups * splits), weight.Grid.Z);
        Assert.True(weight.Grid.Z <= 65535);
        Assert.True((long)splits * rowsPerSplit >= rows, "the splits cover every row");
        Assert.True((long)(splits - 1) * rowsPerSplit < rows, "no split is empty");
        Assert.True(queue.BytesFrom(weight.Pointer(2)) >= (long)splits * count * sizeof(float), "partial holds [splits, count] floats");
        long tiles = (long)weight.Grid.X * weight.Grid.Y * groups;
        Assert.True(queue.BytesFrom(weight.Pointer(3)) >= tiles * sizeof(uint), "a ticket counter per tile");
        Assert.Equal(Base(dw) + (ulong)(dw.Offset * sizeof(float)), weight.Pointer(4));
        Assert.Equal(1, weight.Int(splitsArg + 2)); // dw holds earlier gradients here: accumulate
    }

    [Theory]
    [InlineData(4, 16, 16, 12, 18, 3, 2, 3)] // 1024 rows: several splits
    [InlineData(1, 5, 5, 96, 16, 2, 0, 2)]
    [InlineData(3, 1, 1, 7, 5, 1, 0, 0)]     // 3 rows
    [InlineData(2, 8, 8, 40, 80, 1, 4, 8)]
    public void PointwiseBackward_FollowsTheLaunchContract(int n, int h, int w, int cin, int cout, int groups, int inShuffle, int outShuffle)
    {
        int m = n * h * w, kg = cin / groups, ng = cout / groups;
        var queue = new RecordingQueue();
        using var gpu = queue.Backend();
        var x = RecordingQueue.UnalignedView(gpu, Random(m * cin), n, h, w, cin);
        var wt = RecordingQueue.UnalignedView(gpu, Random(cout * kg), cout, kg);
        var dy = RecordingQueue.UnalignedView(gpu, Random(m * cout), n, h, w, cout);
        var dx = RecordingQueue.UnalignedView(gpu, Random(m * cin), n, h, w, cin);
        var dw = RecordingQueue.UnalignedView(gpu, Random(cout * kg), cout, kg);

        gpu.PointwiseBackward(x, wt, dy, dx, dw, new PointwiseSpec(groups, inShuffle, outShuffle));

        Assert.Equal(2, queue.Launches.Count);
        var data = queue.Launches[0];
        int Tile(int d) => d <= 16 ? 16 : d <= 32 ? 32 : 64;
        Assert.Equal($"pointwise_backward_data_64x{Tile(kg)}", data.Kernel);
        Assert.Equal(new Dim3((uint)((m + 63) / 64), (uint)((kg + Tile(kg) - 1) / Tile(kg)), (uint)groups), data.Grid);
        Assert.Equal(Base(dx) + 12, data.Pointer(2));
        Assert.Equal(new[] { m, cin, cout, groups, inShuffle, outShuffle }, Enumerable.Range(3, 6).Select(data.Int));
        var weight = queue.Launches[1];
        Assert.Equal($"pointwise_backward_weight_{Tile(ng)}x{Tile(kg)}", weight.Kernel);
        Assert.Equal((uint)((ng + Tile(ng) - 1) / Tile(ng)), weight.Grid.X);
        Assert.Equal((uint)((kg + Tile(kg) - 1) / Tile(kg)), weight.Grid.Y);
        Assert.Equal(Base(dy) + 12, weight.Pointer(0));
        Assert.Equal(Base(x) + 12, weight.Pointer(1));
        Assert.Equal(new[] { m, cin, cout, groups, inShuffle, outShuffle }, Enumerable.Range(5, 6).Select(weight.Int));
        AssertSplitWeight(queue, weight, 11, m, groups, cout * kg, dw);
    }

    [Theory]
    [InlineData(2, 5, 5, 3, 8, 3, 2, 1, 1)]
    [InlineData(1, 7, 6, 6, 9, 3, 1, 1, 3)]
    [InlineData(1, 1, 1, 5, 3, 3, 1, 1, 1)]
    [InlineData(8, 32, 32, 16, 32, 3, 1, 1, 1)] // 8192 output pixels: several splits
    public void Conv2dBackward_FollowsTheLaunchContract(int n, int h, int w, int cin, int cout, int k, int s, int p, int groups)
    {
        int ho = (h + 2 * p - k) / s + 1, wo = (w + 2 * p - k) / s + 1, cig = cin / groups, cog = cout / groups, r = k * k * cig;
        var queue = new RecordingQueue();
        using var gpu = queue.Backend();
        var x = RecordingQueue.UnalignedView(gpu, Random(n * h * w * cin), n, h, w, cin);
        var wt = RecordingQueue.UnalignedView(gpu, Random(cout * r), cout, k, k, cig);
        var dy = RecordingQueue.UnalignedView(gpu, Random(n * ho * wo * cout), n, ho, wo, cout);
        var dx = RecordingQueue.UnalignedView(gpu, Random(n * h * w * cin), n, h, w, cin);
        var dw = RecordingQueue.UnalignedView(gpu, Random(cout * r), cout, k, k, cig);

        gpu.Conv2dBackward(x, wt, dy, dx, dw, new Conv2dSpec(k, s, p, groups));

        Assert.Equal(2, queue.Launches.Count);
        int Tile(int d) => d <= 16 ? 16 : d <= 32 ? 32 : 64;
        var data = queue.Launches[0];
        Assert.Equal($"conv2d_backward_data_64x{Tile(cig)}", data.Kernel);
        Assert.Equal(new Dim3((uint)((n * h * w + 63) / 64), (uint)((cig + Tile(cig) - 1) / Tile(cig)), (uint)groups), data.Grid);
        Assert.Equal(new[] { n, h, w, cin, cout, k, s, p, groups }, Enumerable.Range(3, 9).Select(data.Int));
        var weight = queue.Launches[1];
        Assert.Equal($"conv2d_backward_weight_{Tile(cog)}x{Tile(r)}", weight.Kernel);
        Assert.Equal((uint)((cog + Tile(cog) - 1) / Tile(cog)), weight.Grid.X);
        Assert.Equal((uint)((r + Tile(r) - 1) / Tile(r)), weight.Grid.Y);
        Assert.Equal(new[] { n, h, w, cin, cout, k, s, p, groups }, Enumerable.Range(5, 9).Select(weight.Int));
        AssertSplitWeight(queue, weight, 14, n * ho * wo, groups, cout * r, dw);
    }

    [Theory]
    [InlineData(3, 5, 5, 8, 1)]
    [InlineData(1, 1, 1, 33, 2)]
    [InlineData(16, 28, 28, 36, 2)]
    public void DepthwiseBackward_PartialIsGridYByCBy9_AndEachChannelSliceFinishesInItsLastSplit(int n, int h, int w, int c, int stride)
    {
        int ho = (h - 1) / stride + 1, wo = (w - 1) / stride + 1;
        var queue = new RecordingQueue();
        using var gpu = queue.Backend();
        var x = RecordingQueue.UnalignedView(gpu, Random(n * h * w * c), n, h, w, c);
        var wt = RecordingQueue.UnalignedView(gpu, Random(9 * c), c, 3, 3);
        var dy = RecordingQueue.UnalignedView(gpu, Random(n * ho * wo * c), n, ho, wo, c);
        var dw = RecordingQueue.UnalignedView(gpu, Random(9 * c), c, 3, 3);

        gpu.DepthwiseBackward(x, wt, dy, null, dw, stride);

        Assert.Equal(["depthwise3x3_backward_weight"], queue.Launches.Select(l => l.Kernel));
        var weight = queue.Launches[0];
        uint splits = weight.Grid.Y;
        Assert.Equal(new Dim3((uint)((c + 31) / 32), splits), weight.Grid);
        Assert.InRange(splits, 1u, 65535u);
        Assert.True(queue.BytesFrom(weight.Pointer(2)) >= splits * c * 9L * sizeof(float));
        Assert.True(queue.BytesFrom(weight.Pointer(3)) >= weight.Grid.X * sizeof(uint), "a ticket counter per channel slice");
        Assert.Equal(Base(dw) + (ulong)(dw.Offset * sizeof(float)), weight.Pointer(4));
        Assert.Equal(new[] { n, h, w, c, stride, 1 }, Enumerable.Range(5, 6).Select(weight.Int));
    }

    [Theory]
    [InlineData(true, true, true, true, "batchnorm_backward_stats batchnorm_backward_data")]
    [InlineData(true, true, false, false, "batchnorm_backward_stats batchnorm_backward_data")]
    [InlineData(true, false, true, false, "batchnorm_backward_stats")]
    [InlineData(false, true, false, false, "batchnorm_backward_data")]
    [InlineData(false, true, true, true, "batchnorm_backward_stats batchnorm_backward_data")]
    [InlineData(false, false, false, true, "batchnorm_backward_stats")]
    public void BatchNormBackward_RunsTheKernelsTheContractNames_WithSumsOnlyForATrainingDx(bool training, bool wantDx, bool wantDgamma, bool wantDbeta, string kernels)
    {
        const int m = 300, c = 7;
        var queue = new RecordingQueue();
        using var gpu = queue.Backend();
        Tensor T(int count, params int[] shape) => RecordingQueue.UnalignedView(gpu, Random(count), shape);
        var x = T(m * c, m, c);
        var dy = T(m * c, m, c);
        Tensor gamma = T(c, c), beta = T(c, c), mean = T(c, c), invStd = T(c, c);
        Tensor? dx = wantDx ? T(m * c, m, c) : null, dgamma = wantDgamma ? T(c, c) : null, dbeta = wantDbeta ? T(c, c) : null;

        gpu.BatchNormBackward(x, gamma, beta, mean, invStd, dy, dx, dgamma, dbeta, new BatchNormSpec(training, Activation: Activation.Relu6));

        Assert.Equal(kernels, string.Join(" ", queue.Launches.Select(l => l.Kernel)));
        ulong Address(Tensor? t) => t is null ? 0 : Base(t) + (ulong)(t.Offset * sizeof(float));
        if (queue.Launches[0].Kernel == "batchnorm_backward_stats")
        {
            // (x, gamma, beta, dy, mean, invStd, partial, counter, M, C, act, dgamma, dbeta, sums)
            var stats = queue.Launches[0];
            uint splits = stats.Grid.Y;
            Assert.Equal((uint)((c + 31) / 32), stats.Grid.X);
            Assert.True(queue.BytesFrom(stats.Pointer(6)) >= splits * 2L * c * sizeof(double), "partial holds [splits, 2, C] doubles");
            Assert.True(queue.BytesFrom(stats.Pointer(7)) >= sizeof(uint), "the last-block ticket counter");
            Assert.Equal(new[] { m, c, 2 }, Enumerable.Range(8, 3).Select(stats.Int));
            Assert.Equal(Address(dgamma), stats.Pointer(11));
            Assert.Equal(Address(dbeta), stats.Pointer(12));
            ulong sums = stats.Pointer(13);
            Assert.Equal(training && wantDx, sums != 0);
            if (sums != 0) Assert.True(queue.BytesFrom(sums) >= 2L * c * sizeof(float));
        }
        if (wantDx)
        {
            var data = queue.Launches[^1];
            Assert.Equal(Address(dx), data.Pointer(7));
            Assert.Equal(training ? 1 : 0, data.Int(11));
            Assert.Equal(training, data.Pointer(6) != 0);
            if (training) Assert.Equal(queue.Launches[0].Pointer(13), data.Pointer(6));
        }
    }

    [Theory]
    [InlineData(1000, 613L, 613)]
    [InlineData(1000, 5000L, 1000)]
    [InlineData(37, -4L, 0)]
    public void SgdStep_ClampsTheDecayedCount_AndPassesFloats(int n, long decayed, int expectedDecayed)
    {
        var queue = new RecordingQueue();
        using var gpu = queue.Backend();
        var p = RecordingQueue.UnalignedView(gpu, Random(n), n);
        var g = RecordingQueue.UnalignedView(gpu, Random(n), n);
        var buf = RecordingQueue.UnalignedView(gpu, Random(n), n);

        gpu.SgdStep(p, g, buf, new SgdSpec(0.05, 0.9, true, 4e-5, decayed));

        var launch = Assert.Single(queue.Launches);
        Assert.Equal("sgd_step", launch.Kernel);
        Assert.Equal(n, launch.Int(3));
        Assert.Equal(expectedDecayed, launch.Int(4));
        Assert.Equal(0.05f, launch.Float(5));
        Assert.Equal(0.9f, launch.Float(6));
        Assert.Equal(4e-5f, launch.Float(7));
        Assert.Equal(1, launch.Int(8));
        Assert.Equal(0UL, launch.Pointer(9)); // no rate tensor: the kernel takes lr
        Assert.Equal((uint)Math.Min((n + 255) / 256, 65535), launch.Grid.X);
    }

    [Fact]
    public void SgdStep_WithARateTensor_PassesItsAddress()
    {
        var queue = new RecordingQueue();
        using var gpu = queue.Backend();
        var p = RecordingQueue.UnalignedView(gpu, Random(10), 10);
        var rate = RecordingQueue.UnalignedView(gpu, [0.3f], 1);
        var spec = new SgdSpec(0.05, 0.9, false, 0, 10) { LearningRateTensor = rate };

        gpu.SgdStep(p, p, p, spec);

        Assert.Equal(queue.Launches[^1].Pointer(9), ((CudaStorage)rate.Storage).Pointer + 3 * sizeof(float));
        Assert.Throws<ArgumentException>(() => gpu.SgdStep(p, p, p, spec with { LearningRateTensor = p }));
    }

    [Fact]
    public void SoftmaxCrossEntropy_RowLossWorkspaceHoldsNFloats_AndBackwardReadsDlossFromTheDevice()
    {
        const int n = 5, k = 10;
        var queue = new RecordingQueue();
        using var gpu = queue.Backend();
        var logits = RecordingQueue.UnalignedView(gpu, Random(n * k), n, k);
        var labels = Tensor.FromArray(gpu, [1, 2, 3, 4, 5], new Shape(n));
        var p = RecordingQueue.UnalignedView(gpu, Random(n * k), n, k);
        var loss = RecordingQueue.UnalignedView(gpu, [0f], 1);
        var dloss = RecordingQueue.UnalignedView(gpu, [0.7f], 1);
        var dlogits = RecordingQueue.UnalignedView(gpu, Random(n * k), n, k);

        gpu.SoftmaxCrossEntropyForward(logits, labels, p, loss, 0.1);
        gpu.SoftmaxCrossEntropyBackward(p, labels, dloss, dlogits, 0.1);

        Assert.Equal(["softmax_xent_forward_rows", "softmax_xent_forward_mean", "softmax_xent_backward"], queue.Launches.Select(l => l.Kernel));
        var rows = queue.Launches[0];
        Assert.Equal(new Dim3(n), rows.Grid);
        Assert.True(queue.BytesFrom(rows.Pointer(3)) >= n * sizeof(float));
        Assert.Equal(0.1f, rows.Float(6));
        Assert.Equal(rows.Pointer(3), queue.Launches[1].Pointer(0));
        Assert.Equal(new Dim3(1), queue.Launches[1].Grid);
        var backward = queue.Launches[2];
        Assert.Equal(Base(dloss) + 12, backward.Pointer(2));
        Assert.Equal(Base(dlogits) + 12, backward.Pointer(3));
        Assert.Equal(new[] { n, k }, new[] { backward.Int(4), backward.Int(5) });
    }
}
