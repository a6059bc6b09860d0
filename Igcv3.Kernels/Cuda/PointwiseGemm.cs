namespace Igcv3.Kernels.Cuda;

/// <summary>
/// How <see cref="CudaBackend"/> runs the grouped 1x1 convolution. The issue asks for the
/// hand-written kernel to be measured against cuBLAS and the faster kept. Which is faster depends
/// on the shape and the GPU, so <see cref="Auto"/> (the default on a device) measures both at each
/// geometry's first call and keeps the faster; the other two force one way, for benchmarks that
/// time both and for runs that must repeat bit for bit.
/// </summary>
public enum PointwiseGemm
{
    /// <summary>Per geometry and pass (forward, backward), the faster of the two as timed on the
    /// device at first use (<see cref="CudaBackend.PointwiseChoices"/> lists the decisions).</summary>
    Auto,

    /// <summary>pointwise.cu: tiled SGEMMs with the IGC permutations fused into their indexing
    /// (no pass over memory for a permutation).</summary>
    Tiled,

    /// <summary>cuBLAS strided-batched SGEMM, one batch per group. cuBLAS cannot index through a
    /// permutation, so a fused permutation becomes what a general framework does: an explicit
    /// channel_shuffle pass through a scratch tensor.</summary>
    Cublas,
}

/// <summary>One decision of <see cref="PointwiseGemm.Auto"/>: a pass ("forward", "backward dx+dw",
/// "backward dx", "backward dw") of the 1x1 convolution [Rows, Cin] → [Rows, Cout] in Groups groups
/// with its permutations, the device milliseconds of one call each way, and the faster.</summary>
public sealed record PointwiseChoice(string Pass, int Rows, int InChannels, int OutChannels, int Groups, int InputShuffle, int OutputShuffle,
    double TiledMs, double CublasMs)
{
    /// <summary>cuBLAS only when strictly faster: the tiled kernels need no scratch memory. (Times
    /// are NaN, and the choice tiled, where the device had no memory for the trials.)</summary>
    public PointwiseGemm Chosen => CublasMs < TiledMs ? PointwiseGemm.Cublas : PointwiseGemm.Tiled;

    public override string ToString() =>
        $"{Pass} [{Rows}, {InChannels}] → {OutChannels}, g{Groups}, P{InputShuffle}/{OutputShuffle}: tiled {TiledMs:F4} ms, cuBLAS {CublasMs:F4} ms → {Chosen}";
}
