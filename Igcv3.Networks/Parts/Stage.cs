using Igcv3.Engine;
using Igcv3.Engine.Nn;

namespace Igcv3.Networks;

/// <summary>A stage of blocks at one width: child "blocks" (so names read "stages.2.blocks.3...").</summary>
public sealed class Stage : Module
{
    public Stage(IEnumerable<Module> blocks) => Blocks = Add("blocks", new Sequential(blocks));

    public Sequential Blocks { get; }

    public override Tensor Forward(Tensor x) => Blocks.Forward(x);
}
