namespace Igcv3.Engine.Nn;

/// <summary>
/// A named tensor slot that a module declares at construction: its shape, how it starts, and
/// whether weight decay applies. The tensor itself is bound later, when
/// <see cref="ParameterSet"/> lays every slot of a network out in one contiguous buffer.
/// Trainable parameters get a gradient view too; buffers (BN running statistics) do not.
/// </summary>
public sealed class Parameter
{
    private Tensor? _value;

    internal Parameter(string name, Shape shape, Init init, bool trainable, bool decay)
    {
        Name = name;
        Shape = shape;
        Init = init;
        Trainable = trainable;
        Decay = decay;
    }

    /// <summary>The name within its module, for example "weight".</summary>
    public string Name { get; }

    public Shape Shape { get; }

    public Init Init { get; }

    /// <summary>True for parameters, false for buffers such as BN running statistics.</summary>
    public bool Trainable { get; }

    /// <summary>False for the parameters that weight decay may exempt (BN gamma/beta, biases).</summary>
    public bool Decay { get; }

    public bool IsBound => _value is not null;

    /// <summary>The bound tensor (a view into the set's flat buffer).</summary>
    public Tensor Value => _value ?? throw new InvalidOperationException(
        $"parameter '{Name}' {Shape} has no storage yet: create a ParameterSet for the network before running it");

    internal void Bind(Tensor value) => _value = value;

    /// <summary>Puts another tensor (or none) in the slot and returns the one it held: lets
    /// <see cref="ModelSummary"/> run a network on shape-only tensors and then restore it.</summary>
    internal Tensor? Swap(Tensor? value)
    {
        var old = _value;
        _value = value;
        return old;
    }
}
