namespace Igcv3.Engine;

/// <summary>What follows a batch norm (or stands alone as an op).</summary>
public enum Activation { None, Relu, Relu6 }

/// <summary>A general 2-D convolution: square kernel, symmetric padding, groups. Input NHWC
/// [N, H, W, Cin], weight OHWI [Cout, K, K, Cin/groups], output [N, Ho, Wo, Cout].</summary>
public readonly record struct Conv2dSpec(int Kernel, int Stride = 1, int Padding = 0, int Groups = 1)
{
    public int OutputSize(int inputSize) => (inputSize + 2 * Padding - Kernel) / Stride + 1;
}

/// <summary>A grouped 1x1 convolution with a channel permutation optionally fused on its input
/// and on its output: y = P(Gout) · conv_groups(P(Gin) · x), where P(G) is the IGC interleave
/// out[j*G + g] = in[g*(C/G) + j]. A shuffle group count of 0 or 1 means "no permutation".
/// Input [N, H, W, Cin], weight [Cout, Cin/groups], output [N, H, W, Cout].</summary>
public readonly record struct PointwiseSpec(int Groups = 1, int InputShuffle = 0, int OutputShuffle = 0)
{
    public bool ShufflesInput => InputShuffle > 1;

    public bool ShufflesOutput => OutputShuffle > 1;
}

/// <summary>Max pooling with a square window.</summary>
public readonly record struct PoolSpec(int Kernel, int Stride, int Padding)
{
    public int OutputSize(int inputSize) => (inputSize + 2 * Padding - Kernel) / Stride + 1;
}

/// <summary>Batch norm settings. Momentum follows PyTorch: running = (1 - m)·running + m·batch,
/// and the running variance takes the unbiased batch variance.</summary>
public readonly record struct BatchNormSpec(bool Training, double Momentum = 0.1, double Epsilon = 1e-5, Activation Activation = Activation.None);

/// <summary>One SGD step over a flat parameter buffer, PyTorch's semantics:
/// g = grad + wd·p (for the first <see cref="DecayedCount"/> elements only, so BN and bias
/// parameters laid out after them are exempt); buf = μ·buf + g; g = g + μ·buf if Nesterov else buf;
/// p -= lr·g.</summary>
public readonly record struct SgdSpec(double LearningRate, double Momentum, bool Nesterov, double WeightDecay, long DecayedCount)
{
    /// <summary>When set, the rate is this one-element tensor's value (F32 on the GPU), read by the
    /// step itself, and <see cref="LearningRate"/> is ignored: a step captured once as a CUDA graph
    /// and replayed keeps the kernel's arguments of the capture, so a rate that changes every step
    /// must come from device memory written before each replay.</summary>
    public Tensor? LearningRateTensor { get; init; }
}
