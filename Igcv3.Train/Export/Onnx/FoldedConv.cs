using Igcv3.Engine;
using Igcv3.Engine.Nn;

namespace Igcv3.Train.Export;

/// <summary>
/// A convolution on its way into the ONNX graph, held back until it is known whether a batch
/// norm follows: OIHW weights [Cout, Cin/groups, K, K] (ONNX's layout, converted from ours), a
/// bias, and the IGC output permutation P(G) fused into our pointwise convolution, which ONNX
/// gets as a separate Reshape-Transpose-Reshape after the Conv.
///
/// Folding the eval-mode batch norm y = γ·(z − μ)/√(σ² + ε) + β that reads the (permuted)
/// output: conv output channel o lands on channel d = P's destination of o, so
///     w'[o] = w[o]·s[d],  b'[o] = (b[o] − μ[d])·s[d] + β[d],  s[d] = γ[d]/√(σ²[d] + ε)
/// computed in double and rounded once to float. The batch norm's activation is kept, to be
/// written after the convolution and the permutation (both commute with it: it is per channel).
/// </summary>
internal sealed class FoldedConv
{
    public FoldedConv(string label, string input, double[] weight, long[] weightDims, double[]? bias,
        int stride, int padding, int groups, int outputShuffle)
    {
        Label = label;
        Input = input;
        Weight = weight;
        WeightDims = weightDims;
        OutChannels = checked((int)weightDims[0]);
        Bias = bias;
        Stride = stride;
        Padding = padding;
        Groups = groups;
        OutputShuffle = outputShuffle;
    }

    /// <summary>The module path the node and initializer names start with ("stages.1.blocks.0.expand").</summary>
    public string Label { get; }

    public string Input { get; }

    /// <summary>OIHW, flat.</summary>
    public double[] Weight { get; }

    public long[] WeightDims { get; }

    public int OutChannels { get; }

    public double[]? Bias { get; private set; }

    public int Stride { get; }

    public int Padding { get; }

    public int Groups { get; }

    /// <summary>The permutation after the convolution (0 or 1: none).</summary>
    public int OutputShuffle { get; }

    /// <summary>The activation of the folded batch norm, applied after the permutation.</summary>
    public Activation Activation { get; private set; }

    /// <summary>Whether a batch norm was folded in (a second one cannot be: the activation is in between).</summary>
    public bool HasBatchNorm { get; private set; }

    public void FoldBatchNorm(BatchNorm bn)
    {
        if (HasBatchNorm) throw new InvalidOperationException($"onnx export: {Label} is followed by two batch norms");
        if (bn.Channels != OutChannels) throw new InvalidOperationException($"onnx export: {Label} has {OutChannels} outputs but its batch norm {bn.Channels} channels");
        float[] gamma = bn.Gamma.Value.ToFloatArray(), beta = bn.Beta.Value.ToFloatArray();
        float[] mean = bn.RunningMean.Value.ToFloatArray(), variance = bn.RunningVar.Value.ToFloatArray();
        var bias = Bias ?? new double[OutChannels];
        int perOutput = Weight.Length / OutChannels;
        for (int o = 0; o < OutChannels; o++)
        {
            int d = ChannelPermutation.Destination(o, OutChannels, OutputShuffle);
            double scale = gamma[d] / Math.Sqrt(variance[d] + bn.Epsilon);
            for (int k = 0; k < perOutput; k++) Weight[o * perOutput + k] *= scale;
            bias[o] = (bias[o] - mean[d]) * scale + beta[d];
        }
        Bias = bias;
        Activation = bn.Activation;
        HasBatchNorm = true;
    }
}
