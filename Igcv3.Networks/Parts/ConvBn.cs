using Igcv3.Engine;
using Igcv3.Engine.Nn;

namespace Igcv3.Networks;

/// <summary>y = act(BN(conv(x))): the stem, head, dense units and projection shortcuts.
/// Children "conv" and "bn", and "pool" when a max pool follows (the ImageNet ResNet stem).</summary>
public sealed class ConvBn : Module
{
    public ConvBn(Conv2d conv, Activation activation, double epsilon = 1e-5, double momentum = 0.1, MaxPool? pool = null)
    {
        Conv = Add("conv", conv);
        Bn = Add("bn", new BatchNorm(conv.OutChannels, activation, epsilon, momentum));
        if (pool is not null) Pool = Add("pool", pool);
    }

    public MaxPool? Pool { get; }

    public Conv2d Conv { get; }

    public BatchNorm Bn { get; }

    public override Tensor Forward(Tensor x)
    {
        var y = Bn.Forward(Conv.Forward(x));
        return Pool is null ? y : Pool.Forward(y);
    }
}
