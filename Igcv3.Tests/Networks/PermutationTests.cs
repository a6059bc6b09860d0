using Igcv3.Engine;
using Igcv3.Engine.Nn;
using Igcv3.Networks;
using Igcv3.Tests.Support;
using Xunit;

namespace Igcv3.Tests.Networks;

public class PermutationTests
{
    /// <summary>Index the IGC interleave P(G) sends to: out[j·G + g] = in[g·(C/G) + j].</summary>
    private static int[] Source(int channels, int groups)
    {
        var source = new int[channels];
        int per = channels / groups;
        for (int g = 0; g < groups; g++)
            for (int j = 0; j < per; j++) source[j * groups + g] = g * per + j;
        return source;
    }

    private static double[] Permute(double[] v, int groups)
    {
        var s = Source(v.Length, groups);
        return Enumerable.Range(0, v.Length).Select(i => v[s[i]]).ToArray();
    }

    private static double[] Unpermute(double[] v, int groups)
    {
        var s = Source(v.Length, groups);
        var r = new double[v.Length];
        for (int i = 0; i < v.Length; i++) r[s[i]] = v[i];
        return r;
    }

    private static void SetSmallIntegers(Parameter p, int seed, int low, int high)
    {
        var random = new Random(seed);
        var values = Enumerable.Range(0, (int)p.Shape.Count).Select(_ => (double)random.Next(low, high + 1)).ToArray();
        Make.Cpu.Copy(Tensor.FromHostDoubles(Make.Cpu, values, p.Shape, p.Value.DType), p.Value);
    }

    private static Tensor Host(double[] v, DType dtype = DType.F32) => Tensor.FromHostDoubles(Make.Cpu, v, [v.Length], dtype);

    /// <summary>
    /// The fused IGCV3 block (P(G1) as the expand conv's output shuffle, BN on permuted channels;
    /// P(Cout/G2) as the project conv's output shuffle) equals the released formulation written
    /// out with explicit ops: conv → BN → ChannelShuffle, with the BN parameters and statistics
    /// un-permuted to the order that formulation sees. Small integers, in double, so bit-exact, in
    /// training (batch statistics, which the fused block's convolutions compute for their norms) and
    /// evaluation (running statistics) mode.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void FusedIgcv3Block_EqualsExplicitPermutations(bool training)
    {
        const int cin = 6, e = 12, cout = 6, g1 = 2, g2 = 3;
        var block = new Igcv3Block(cin, e, cout, stride: 1, shortcut: true, new Igcv3BlockOptions(G1: g1, G2: g2, OutputPermutation: true));
        ParameterSet.Create(block, Make.Cpu, seed: 1, DType.F64);
        int seed = 100;
        foreach (var (_, p) in block.NamedParameters()) SetSmallIntegers(p, seed++, -2, 2);
        foreach (var bn in new[] { block.ExpandBn, block.DepthwiseBn, block.ProjectBn })
        {
            SetSmallIntegers(bn.RunningMean, seed++, -2, 2);
            SetSmallIntegers(bn.RunningVar, seed++, 1, 4);
        }
        block.Train(training);
        var x = Make.SmallIntegers([2, 4, 4, cin], 7, dtype: DType.F64);

        var fused = block.Forward(x).ToDoubleArray();

        Tensor Bn(Tensor h, BatchNorm bn, int shuffle) => Ops.BatchNorm(h,
            Host(Unpermute(bn.Gamma.Value.ToDoubleArray(), shuffle), DType.F64), Host(Unpermute(bn.Beta.Value.ToDoubleArray(), shuffle), DType.F64),
            Host(Unpermute(bn.RunningMean.Value.ToDoubleArray(), shuffle), DType.F64), Host(Unpermute(bn.RunningVar.Value.ToDoubleArray(), shuffle), DType.F64),
            new BatchNormSpec(training, bn.Momentum, bn.Epsilon, bn.Activation));

        var h = Ops.Pointwise(x, block.Expand.Weight.Value, new PointwiseSpec(g1));
        h = Ops.ChannelShuffle(Bn(h, block.ExpandBn, g1), g1);
        h = Bn(Ops.Depthwise3x3(h, block.Depthwise.Weight.Value, 1), block.DepthwiseBn, 1);
        h = Ops.Pointwise(h, block.Project.Weight.Value, new PointwiseSpec(g2));
        h = Ops.ChannelShuffle(Bn(h, block.ProjectBn, cout / g2), cout / g2);
        var explicitForm = Ops.Add(x, h).ToDoubleArray();

        Assert.Equal(explicitForm, fused);
    }

    [Fact]
    public void PermutationHelper_MatchesTheSpecExample()
    {
        // G = 2 interleaves the halves: x0, x3, x1, x4, x2, x5.
        Assert.Equal([0.0, 3, 1, 4, 2, 5], Permute([0, 1, 2, 3, 4, 5], 2));
        Assert.Equal([0.0, 1, 2, 3, 4, 5], Unpermute(Permute([0, 1, 2, 3, 4, 5], 3), 3));
    }

    /// <summary>Connectivity (Cout × Cin, path counts) of a pointwise conv with its fused shuffles:
    /// S_out · W · S_in, where W[o, i] = 1 when i is in o's group.</summary>
    private static int[,] Connectivity(PointwiseConv conv)
    {
        int cin = conv.InChannels, cout = conv.OutChannels, groups = conv.Spec.Groups;
        int[,] shuffleIn = Identity(cin), shuffleOut = Identity(cout);
        if (conv.Spec.ShufflesInput) shuffleIn = PermutationMatrix(cin, conv.Spec.InputShuffle);
        if (conv.Spec.ShufflesOutput) shuffleOut = PermutationMatrix(cout, conv.Spec.OutputShuffle);
        var w = new int[cout, cin];
        for (int o = 0; o < cout; o++)
        {
            int g = o / (cout / groups);
            for (int k = 0; k < cin / groups; k++) w[o, g * (cin / groups) + k] = 1;
        }
        return Multiply(shuffleOut, Multiply(w, shuffleIn));
    }

    private static int[,] Identity(int n)
    {
        var m = new int[n, n];
        for (int i = 0; i < n; i++) m[i, i] = 1;
        return m;
    }

    private static int[,] PermutationMatrix(int n, int groups)
    {
        var s = Source(n, groups);
        var m = new int[n, n];
        for (int i = 0; i < n; i++) m[i, s[i]] = 1;
        return m;
    }

    private static int[,] Multiply(int[,] a, int[,] b)
    {
        int n = a.GetLength(0), k = a.GetLength(1), m = b.GetLength(1);
        Assert.Equal(k, b.GetLength(0));
        var c = new int[n, m];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++)
                for (int t = 0; t < k; t++) c[i, j] += a[i, t] * b[t, j];
        return c;
    }

    /// <summary>IGCV2's complementary condition: the product of the block's connectivity matrices
    /// (depthwise = identity, then each group 1x1 conv with its fused permutations) has exactly one
    /// path from every input channel to every output channel. Checked twice: from the layers'
    /// specs, and by running the fused convolutions themselves with all weights 1 on one-hot inputs.</summary>
    [Theory]
    [InlineData(24, 32, 3)]
    [InlineData(24, 24, 4)]
    [InlineData(16, 16, 5)]
    [InlineData(32, 16, 3)]
    [InlineData(96, 160, 3)]
    [InlineData(36, 36, 4)]
    public void Igcv2Block_EveryOutputReachesEveryInputByExactlyOnePath(int cin, int cout, int depth)
    {
        var block = new Igcv2Block(cin, cout, stride: 1, shortcut: false, depth, InitScheme.TorchvisionFanOut);
        Assert.Equal(cin, block.ChannelsPerGroup.Aggregate(1, (a, k) => a * k));
        Assert.Equal(depth - 1, block.Mix.Count);
        AssertOnePath(block, cin, cout);
    }

    /// <summary>The same property with the K_l given, in unbalanced and reversed orders.</summary>
    [Theory]
    [InlineData(24, 24, new[] { 2, 12 })]
    [InlineData(24, 24, new[] { 12, 2 })]
    [InlineData(24, 48, new[] { 3, 2, 4 })]
    [InlineData(16, 16, new[] { 16 })]
    [InlineData(12, 18, new[] { 1, 12 })]
    public void Igcv2Block_WithGivenGroupSizes_HasExactlyOnePath(int cin, int cout, int[] k)
    {
        var block = new Igcv2Block(cin, cout, stride: 1, shortcut: false, k, InitScheme.TorchvisionFanOut);
        Assert.Equal(k, block.ChannelsPerGroup);
        AssertOnePath(block, cin, cout);
    }

    [Theory]
    [InlineData(24, 24, new[] { 2, 4 }, "∏ K_l = 24 input channels, got K = (2, 4) with product 8")]
    [InlineData(24, 24, new[] { 5, 5 }, "every K_l must divide the 24 input channels, got K = (5, 5)")]
    [InlineData(24, 21, new[] { 2, 12 }, "the last conv's 2 groups (Cin / K_L) must divide the 21 output channels")]
    [InlineData(24, 24, new int[0], "needs at least one group 1x1 conv")]
    public void Igcv2Block_RejectsGroupSizesBreakingTheComplementaryCondition(int cin, int cout, int[] k, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => new Igcv2Block(cin, cout, stride: 1, shortcut: false, k, InitScheme.TorchvisionFanOut));
        Assert.Contains(message, e.Message);
    }

    private static void AssertOnePath(Igcv2Block block, int cin, int cout)
    {

        var paths = Identity(cin); // the depthwise conv W_1: channel i → channel i
        for (int l = 0; l < block.Mix.Count; l++) paths = Multiply(Connectivity((PointwiseConv)block.Mix[l]), paths);
        for (int o = 0; o < cout; o++)
            for (int i = 0; i < cin; i++) Assert.True(paths[o, i] == 1, $"output {o} reaches input {i} by {paths[o, i]} paths");

        ParameterSet.Create(block, Make.Cpu, seed: 1, DType.F64);
        foreach (var (_, p) in block.Mix.NamedParameters()) Make.Cpu.Fill(p.Value, 1.0);
        var oneHot = new double[cin * cin];
        for (int i = 0; i < cin; i++) oneHot[i * cin + i] = 1;
        using var _ = GradMode.NoGrad();
        var y = block.Mix.Forward(Tensor.FromHostDoubles(Make.Cpu, oneHot, [cin, 1, 1, cin], DType.F64)).ToDoubleArray();
        Assert.All(y, v => Assert.Equal(1.0, v));
    }
}
