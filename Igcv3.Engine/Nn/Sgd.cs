namespace Igcv3.Engine.Nn;

/// <summary>Stochastic gradient descent with momentum, optional Nesterov and weight decay, as
/// PyTorch's torch.optim.SGD (dampening 0). The momentum state is one flat buffer laid out like the
/// parameters, so a step is one pass (one kernel) over three flat buffers.</summary>
public sealed class Sgd
{
    public Sgd(ParameterSet parameters, double momentum = 0.9, bool nesterov = false, double weightDecay = 0, bool exemptNoDecay = false)
    {
        if (momentum < 0 || momentum >= 1) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "sgd: momentum must be in [0, 1)");
        if (nesterov && momentum == 0) throw new ArgumentException("sgd: Nesterov momentum needs momentum > 0", nameof(nesterov));
        if (weightDecay < 0) throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "sgd: weight decay must be ≥ 0");
        Parameters = parameters;
        Momentum = momentum;
        Nesterov = nesterov;
        WeightDecay = weightDecay;
        ExemptNoDecay = exemptNoDecay;
        MomentumBuffer = Tensor.Zeros(parameters.Backend, parameters.Values.Shape, parameters.Values.DType);
    }

    public ParameterSet Parameters { get; }

    public double Momentum { get; }

    public bool Nesterov { get; }

    public double WeightDecay { get; }

    /// <summary>When true, BN gamma/beta and biases get no weight decay.</summary>
    public bool ExemptNoDecay { get; }

    /// <summary>The momentum state, flat [P]: part of a checkpoint for exact resume.</summary>
    public Tensor MomentumBuffer { get; }

    public void Step(double learningRate)
    {
        CheckRate(learningRate);
        Parameters.Backend.SgdStep(Parameters.Values, Parameters.Gradients, MomentumBuffer, Spec(learningRate));
    }

    /// <summary>A step whose rate is the value of <paramref name="learningRate"/> (one element, of
    /// the parameters' backend) when the step runs, not when it is queued: for a step captured once
    /// and replayed (<see cref="SgdSpec.LearningRateTensor"/>). The caller writes a finite rate ≥ 0
    /// there (<see cref="CheckRate"/>) before each run.</summary>
    public void Step(Tensor learningRate)
    {
        if (learningRate.Count != 1 || learningRate.Backend != Parameters.Backend || learningRate.DType != Parameters.Values.DType)
        {
            throw new ArgumentException($"sgd: the learning rate tensor must be one {Parameters.Values.DType} element of {Parameters.Backend.Name}, got {learningRate}", nameof(learningRate));
        }
        Parameters.Backend.SgdStep(Parameters.Values, Parameters.Gradients, MomentumBuffer, Spec(0) with { LearningRateTensor = learningRate });
    }

    public static void CheckRate(double learningRate)
    {
        if (!(learningRate >= 0) || double.IsInfinity(learningRate)) throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "sgd: learning rate must be finite and ≥ 0");
    }

    private SgdSpec Spec(double learningRate) =>
        new(learningRate, Momentum, Nesterov, WeightDecay, ExemptNoDecay ? Parameters.DecayedCount : Parameters.Count);
}
