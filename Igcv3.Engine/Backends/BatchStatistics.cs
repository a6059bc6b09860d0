namespace Igcv3.Engine;

/// <summary>
/// The training-mode batch statistics of a convolution's output, asked for by the batch norm that
/// follows it, so that the convolution accumulates them while its output is still in registers and
/// the norm needs no pass of its own over memory to find them. The producer that computes them
/// (its backend may decline, e.g. where cuBLAS computes the convolution) writes the batch mean and
/// 1/√(σ² + ε) (σ² the biased variance) to <see cref="SaveMean"/> and <see cref="SaveInvStd"/>,
/// updates the running statistics exactly as the norm would (PyTorch's momentum, unbiased running
/// variance), and calls <see cref="MarkComputed"/>; a norm handed statistics that are not
/// computed computes them itself. All tensors are [C], C the producer's output channels.
/// </summary>
public sealed class BatchStatistics
{
    public BatchStatistics(Tensor runningMean, Tensor runningVar, double momentum, double epsilon)
    {
        int channels = (int)runningMean.Count;
        if (runningVar.Count != channels) throw new ArgumentException($"batch statistics: running mean {runningMean.Shape} and running var {runningVar.Shape} must hold one value per channel each");
        RunningMean = runningMean;
        RunningVar = runningVar;
        Momentum = momentum;
        Epsilon = epsilon;
        SaveMean = Tensor.Empty(runningMean.Backend, [channels], runningMean.DType);
        SaveInvStd = Tensor.Empty(runningMean.Backend, [channels], runningMean.DType);
    }

    public Tensor RunningMean { get; }

    public Tensor RunningVar { get; }

    public double Momentum { get; }

    public double Epsilon { get; }

    public Tensor SaveMean { get; }

    public Tensor SaveInvStd { get; }

    public int Channels => (int)SaveMean.Count;

    /// <summary>True once the producer computed them (and updated the running statistics).</summary>
    public bool Computed { get; private set; }

    public void MarkComputed() => Computed = true;

    /// <summary>The producer's check that these are the statistics of its output y [.., C].</summary>
    public void CheckFor(string op, Tensor y)
    {
        if (y.Shape.Rank == 0 || y.Shape[-1] != Channels) throw new ArgumentException($"{op}: batch statistics of {Channels} channels asked for an output {y.Shape}");
        if (Computed) throw new InvalidOperationException($"{op}: these batch statistics were already computed; ask for new ones for each output");
    }
}
