namespace Igcv3.Engine.Nn;

/// <summary>
/// A network part: declares its parameters, buffers and child modules in its constructor, and
/// computes in <see cref="Forward"/>. Names are hierarchical and stable
/// ("stages.2.blocks.3.dw.weight"), in declaration order, which is also the order of the flat
/// buffers and of checkpoints.
/// </summary>
public abstract class Module
{
    private readonly List<(string Name, Module Module)> _children = [];
    private readonly List<Parameter> _parameters = [];

    /// <summary>Training mode (batch statistics in BN) or evaluation mode (running statistics).</summary>
    public bool Training { get; private set; } = true;

    public abstract Tensor Forward(Tensor x);

    /// <summary>Sets training mode on this module and every descendant.</summary>
    public void Train(bool training = true)
    {
        Training = training;
        foreach (var (_, child) in _children) child.Train(training);
    }

    public void Eval() => Train(false);

    protected T Add<T>(string name, T module) where T : Module
    {
        if (_children.Exists(c => c.Name == name)) throw new InvalidOperationException($"{GetType().Name} already has a child named '{name}'");
        _children.Add((name, module));
        return module;
    }

    protected Parameter AddParameter(string name, Shape shape, Init init, bool decay = true) =>
        Declare(new Parameter(name, shape, init, trainable: true, decay));

    protected Parameter AddBuffer(string name, Shape shape, Init init) =>
        Declare(new Parameter(name, shape, init, trainable: false, decay: false));

    private Parameter Declare(Parameter parameter)
    {
        if (_parameters.Exists(p => p.Name == parameter.Name)) throw new InvalidOperationException($"{GetType().Name} already has a parameter named '{parameter.Name}'");
        _parameters.Add(parameter);
        return parameter;
    }

    public IReadOnlyList<(string Name, Module Module)> Children => _children;

    /// <summary>This module ("") and every descendant, depth first, with hierarchical names
    /// ("stages.2.blocks.3.dw"): PyTorch's named_modules().</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        yield return (prefix, this);
        foreach (var (name, child) in _children)
        {
            foreach (var item in child.NamedModules(prefix.Length == 0 ? name : prefix + "." + name)) yield return item;
        }
    }

    /// <summary>Every parameter and buffer of this module and its descendants, depth first, with
    /// hierarchical names.</summary>
    public IEnumerable<(string Name, Parameter Parameter)> NamedSlots(string prefix = "")
    {
        foreach (var p in _parameters) yield return (prefix + p.Name, p);
        foreach (var (name, child) in _children)
        {
            foreach (var item in child.NamedSlots(prefix + name + ".")) yield return item;
        }
    }

    public IEnumerable<(string Name, Parameter Parameter)> NamedParameters() => NamedSlots().Where(s => s.Parameter.Trainable);

    public IEnumerable<(string Name, Parameter Parameter)> NamedBuffers() => NamedSlots().Where(s => !s.Parameter.Trainable);

    /// <summary>Trainable element count (PyTorch's sum(p.numel()); buffers excluded).</summary>
    public long ParameterCount() => NamedParameters().Sum(p => p.Parameter.Shape.Count);
}
