using Igcv3.Engine;
using Igcv3.Engine.Nn;

namespace Igcv3.Networks;

/// <summary>ResNet basic block: relu(second(first(x)) + shortcut(x)), where first ends in ReLU,
/// second has none, and the shortcut is the identity or a 1x1 projection + BN. Children "first",
/// "second", and "shortcut" when projecting.</summary>
public sealed class ResidualBlock : Module
{
    public ResidualBlock(Module first, Module second, Module? shortcut)
    {
        First = Add("first", first);
        Second = Add("second", second);
        if (shortcut is not null) Shortcut = Add("shortcut", shortcut);
    }

    public Module First { get; }

    public Module Second { get; }

    public Module? Shortcut { get; }

    public override Tensor Forward(Tensor x)
    {
        var h = Second.Forward(First.Forward(x));        // [N, H/s, W/s, Cout]
        var skip = Shortcut is null ? x : Shortcut.Forward(x);
        return Ops.Relu(Ops.Add(h, skip));
    }
}
