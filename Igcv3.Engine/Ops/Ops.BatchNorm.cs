namespace Igcv3.Engine;

public static partial class Ops
{
    /// <summary>y = act(γ·(x − μ)/√(σ² + ε) + β) per channel (the last axis of x [.., C]); μ, σ² are
    /// the batch statistics when training (the running statistics updated as a side effect) and the
    /// running statistics in eval. Gradients flow to x, γ and β; the running statistics are state,
    /// never differentiated. <paramref name="computed"/>: statistics this norm asked x's producer for
    /// (see <see cref="BatchStatistics"/>); when the producer computed them (and updated the running
    /// statistics), the forward only applies them. The backward is the same either way: batch
    /// statistics are a function of x, which the gradient's three-term form accounts for.
    /// <paramref name="residual"/>: y = act(BN(x)) + residual, the residual add of a block fused into
    /// the norm's apply where the statistics were computed (else the add runs after it); the same
    /// values as <c>Add(BatchNorm(x), residual)</c>, and the gradient passes to the residual unchanged.</summary>
    public static Tensor BatchNorm(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, BatchNormSpec spec,
        BatchStatistics? computed = null, Tensor? residual = null)
    {
        const string op = "batch_norm";
        Check.SameDeviceAndType(op, ("x", x), ("gamma", gamma), ("beta", beta), ("runningMean", runningMean), ("runningVar", runningVar));
        if (x.Shape.Rank < 2) throw Check.Fail(op, $"x must be [N, C] or [N, H, W, C] (channels last), got shape {x.Shape}");
        int channels = x.Shape[-1];
        Check.Positive(op, $"the channel count (last axis of x {x.Shape})", channels);
        Shape perChannel = [channels];
        Check.Shape(op, "gamma", gamma, perChannel, $"one per channel of x {x.Shape}");
        Check.Shape(op, "beta", beta, perChannel, $"one per channel of x {x.Shape}");
        Check.Shape(op, "runningMean", runningMean, perChannel, $"one per channel of x {x.Shape}");
        Check.Shape(op, "runningVar", runningVar, perChannel, $"one per channel of x {x.Shape}");
        if (!(spec.Epsilon > 0) || double.IsInfinity(spec.Epsilon)) throw Check.Fail(op, $"epsilon must be positive and finite, got {spec.Epsilon}");
        if (!(spec.Momentum >= 0 && spec.Momentum <= 1)) throw Check.Fail(op, $"momentum must lie in [0, 1], got {spec.Momentum}");
        if (!Enum.IsDefined(spec.Activation)) throw Check.Fail(op, $"unknown activation {spec.Activation}");
        long valuesPerChannel = x.Count / channels;
        if (spec.Training && valuesPerChannel < 2)
        {
            // As in PyTorch: the batch variance of one value is 0 (the output would be β whatever x
            // is) and the unbiased variance for the running statistics divides by M − 1 = 0.
            throw Check.Fail(op, $"training needs more than one value per channel, x {x.Shape} has {valuesPerChannel}; use a larger batch or eval mode");
        }

        if (residual is not null)
        {
            Check.SameDeviceAndType(op, ("x", x), ("residual", residual));
            Check.SameShape(op, "x", x, "residual", residual);
        }
        var y = Tensor.Empty(x.Backend, x.Shape, x.DType);
        // The statistics the forward normalised with; the backward closure keeps them alive.
        Tensor saveMean, saveInvStd;
        if (computed is { Computed: true })
        {
            if (!spec.Training) throw Check.Fail(op, "batch statistics were computed for an eval-mode batch norm, which normalises with the running statistics");
            if (!ReferenceEquals(computed.RunningMean, runningMean) || !ReferenceEquals(computed.RunningVar, runningVar))
                throw Check.Fail(op, "the batch statistics given were computed for another batch norm's running statistics");
            if (computed.Momentum != spec.Momentum || computed.Epsilon != spec.Epsilon)
                throw Check.Fail(op, $"the batch statistics given used momentum {computed.Momentum} and epsilon {computed.Epsilon}, this norm {spec.Momentum} and {spec.Epsilon}");
            Check.Shape(op, "the computed batch mean", computed.SaveMean, perChannel, $"one per channel of x {x.Shape}");
            (saveMean, saveInvStd) = (computed.SaveMean, computed.SaveInvStd);
            x.Backend.BatchNormApply(x, gamma, beta, saveMean, saveInvStd, y, spec.Activation, residual);
        }
        else
        {
            saveMean = Tensor.Empty(x.Backend, perChannel, x.DType);
            saveInvStd = Tensor.Empty(x.Backend, perChannel, x.DType);
            x.Backend.BatchNormForward(x, gamma, beta, runningMean, runningVar, y, saveMean, saveInvStd, spec);
            if (residual is not null)
            {
                var sum = Tensor.Empty(x.Backend, x.Shape, x.DType);
                x.Backend.Add(y, residual, sum);
                y = sum;
            }
        }
        Tensor[] inputs = residual is null ? [x, gamma, beta] : [x, gamma, beta, residual];
        return Autograd.Record(y, op, inputs, dy =>
        {
            x.Backend.BatchNormBackward(x, gamma, beta, saveMean, saveInvStd, dy,
                x.RequiresGrad ? x.GradForWriting() : null,
                gamma.RequiresGrad ? gamma.GradForWriting() : null,
                beta.RequiresGrad ? beta.GradForWriting() : null,
                spec);
            if (residual is { RequiresGrad: true }) residual.Backend.Accumulate(dy, residual.GradForWriting());
        });
    }
}
