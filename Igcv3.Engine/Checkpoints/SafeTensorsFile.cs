namespace Igcv3.Engine.Checkpoints;

/// <summary>The contents of a safetensors file: its tensors in data-section order and its
/// <c>__metadata__</c> strings.</summary>
public sealed class SafeTensorsFile
{
    private readonly Dictionary<string, SafeTensor> _byName;

    public SafeTensorsFile(IReadOnlyList<SafeTensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        Tensors = tensors;
        Metadata = metadata;
        _byName = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
        foreach (var t in tensors)
        {
            if (!_byName.TryAdd(t.Name, t)) throw new ArgumentException($"safetensors: tensor name '{t.Name}' appears twice", nameof(tensors));
        }
    }

    /// <summary>Tensors in the order their bytes lie in the data section.</summary>
    public IReadOnlyList<SafeTensor> Tensors { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; }

    public bool TryGet(string name, out SafeTensor tensor) => _byName.TryGetValue(name, out tensor!);

    public bool Contains(string name) => _byName.ContainsKey(name);
}
