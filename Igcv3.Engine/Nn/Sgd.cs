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
        if (!(learningRate >= 0) || double.IsInfinity(learningRate)) throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "sgd: learning rate must be finite and ≥ 0");
        long decayed = ExemptNoDecay ? Parameters.DecayedCount : Parameters.Count;
        Parameters.Backend.SgdStep(Parameters.Values, Parameters.Gradients, MomentumBuffer,
            new SgdSpec(learningRate, Momentum, Nesterov, WeightDecay, decayed));
    }
}
