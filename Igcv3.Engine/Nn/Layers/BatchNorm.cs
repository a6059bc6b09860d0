namespace Igcv3.Engine.Nn;

/// <summary>y = act(γ·(x − μ)/√(σ² + ε) + β) per channel (last axis), batch statistics in
/// training mode and running statistics in evaluation mode. Parameters are named as PyTorch's
/// BatchNorm2d: weight (γ, starts at 1), bias (β, 0), running_mean (0), running_var (1); γ and β
/// are exempt from weight decay.</summary>
public sealed class BatchNorm : Layer
{
    public BatchNorm(int channels, Activation activation = Activation.None, double epsilon = 1e-5, double momentum = 0.1)
    {
        if (channels <= 0) throw new ArgumentException($"batchnorm: channels must be positive, got {channels}");
        if (!(epsilon > 0)) throw new ArgumentException($"batchnorm: epsilon must be positive, got {epsilon}");
        if (!(momentum >= 0 && momentum <= 1)) throw new ArgumentException($"batchnorm: momentum must be in [0, 1], got {momentum}");
        Channels = channels;
        Activation = activation;
        Epsilon = epsilon;
        Momentum = momentum;
        Gamma = AddParameter("weight", [channels], Init.Ones, decay: false);
        Beta = AddParameter("bias", [channels], Init.Zeros, decay: false);
        RunningMean = AddBuffer("running_mean", [channels], Init.Zeros);
        RunningVar = AddBuffer("running_var", [channels], Init.Ones);
    }

    public int Channels { get; }

    /// <summary>The activation fused after the normalisation.</summary>
    public Activation Activation { get; }

    public double Epsilon { get; }

    /// <summary>PyTorch's convention: running = (1 − m)·running + m·batch.</summary>
    public double Momentum { get; }

    public Parameter Gamma { get; }

    public Parameter Beta { get; }

    public Parameter RunningMean { get; }

    public Parameter RunningVar { get; }

    /// <summary>When set (--sync-bn), training mode normalises with the statistics of the batch over
    /// all ranks of this communicator (<see cref="Distributed.SyncBatchNorm"/>); null: this rank's own.</summary>
    public Distributed.ICommunicator? SyncStatistics { get; set; }

    protected override Tensor Compute(Tensor x) => Normalize(x, null);

    /// <summary>The norm of <paramref name="producer"/>'s output for <paramref name="x"/>. In training
    /// the producer is asked for the batch statistics of its output, which its kernel accumulates
    /// in its epilogue, so the norm only applies them: no pass over memory of its own to find them.
    /// Not with <see cref="SyncStatistics"/> (the statistics span every rank) nor in eval (the
    /// running statistics are used). With <paramref name="residual"/>, a block's residual add is
    /// fused into the norm's apply: the same function as <c>Ops.Add(Forward(producer.Forward(x)), residual)</c>.</summary>
    public Tensor Forward(IBatchStatisticsProducer producer, Tensor x, Tensor? residual = null)
    {
        var statistics = Training && SyncStatistics is null ? new BatchStatistics(RunningMean.Value, RunningVar.Value, Momentum, Epsilon) : null;
        var z = producer.Forward(x, statistics);
        return Recorded(z, Normalize(z, statistics, residual));
    }

    private Tensor Normalize(Tensor x, BatchStatistics? computed, Tensor? residual = null)
    {
        var spec = new BatchNormSpec(Training, Momentum, Epsilon, Activation);
        if (Training && SyncStatistics is { } communicator)
        {
            var y = Distributed.SyncBatchNorm.Forward(x, Gamma.Value, Beta.Value, RunningMean.Value, RunningVar.Value, spec, communicator);
            return residual is null ? y : Ops.Add(y, residual);
        }
        return Ops.BatchNorm(x, Gamma.Value, Beta.Value, RunningMean.Value, RunningVar.Value, spec, computed, residual);
    }
}
