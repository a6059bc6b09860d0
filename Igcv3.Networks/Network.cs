using Igcv3.Engine;
using Igcv3.Engine.Nn;

namespace Igcv3.Networks;

/// <summary>The input a network variant is defined for.</summary>
public enum InputKind
{
    /// <summary>32x32 RGB (CIFAR-10/100, SVHN).</summary>
    Cifar,

    /// <summary>224x224 RGB.</summary>
    ImageNet,
}

/// <summary>
/// A classification network: named parts run in order (stem, stages, head, pool, classifier), so
/// parameter names read "stem.conv.weight", "stages.2.blocks.3.dw.weight", "classifier.bias".
/// x [N, H, W, 3] → logits [N, Classes].
/// </summary>
public sealed class Network : Module
{
    private readonly List<Module> _parts = [];

    public Network(string name, InputKind input, int classes, IEnumerable<(string Name, Module Part)> parts)
    {
        Name = name;
        Input = input;
        Classes = classes;
        foreach (var (partName, part) in parts) _parts.Add(Add(partName, part));
    }

    /// <summary>The registry name, for example "igcv3-d".</summary>
    public string Name { get; }

    public InputKind Input { get; }

    public int Classes { get; }

    /// <summary>Input side the variant is defined for: 32 (CIFAR) or 224 (ImageNet).</summary>
    public int Resolution => Input == InputKind.Cifar ? 32 : 224;

    /// <summary>[batch, Resolution, Resolution, 3].</summary>
    public Shape InputShape(int batch) => [batch, Resolution, Resolution, 3];

    public override Tensor Forward(Tensor x)
    {
        foreach (var part in _parts) x = part.Forward(x);
        return x;
    }
}
