namespace Igcv3.Engine.Nn;

/// <summary>y = fₙ(…f₁(x)): children run in order, named "0", "1", … as PyTorch's nn.Sequential.</summary>
public sealed class Sequential : Module
{
    private readonly List<Module> _modules = [];

    public Sequential(params IEnumerable<Module> modules)
    {
        foreach (var m in modules) Append(m);
    }

    public T Append<T>(T module) where T : Module
    {
        _modules.Add(Add(_modules.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module));
        return module;
    }

    public int Count => _modules.Count;

    public Module this[int index] => _modules[index];

    public override Tensor Forward(Tensor x)
    {
        foreach (var m in _modules) x = m.Forward(x);
        return x;
    }
}
