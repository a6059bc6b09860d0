using Igcv3.Engine.Checkpoints;
using Igcv3.Engine.Nn;

namespace Igcv3.Train.Training;

/// <summary>What <see cref="WeightTransfer.Apply"/> did: the tensors it copied, and those it left
/// at their fresh initialisation or found only in the source, each with the reason.</summary>
public sealed record TransferReport(string Source, IReadOnlyList<string> Loaded, long LoadedValues,
    IReadOnlyList<(string Name, string Reason)> Kept, IReadOnlyList<(string Name, string Shape)> Unused)
{
    /// <summary>The lines train prints: the count, then every tensor not loaded and why.</summary>
    public IEnumerable<string> Lines()
    {
        yield return $"--init-from {Source}: loaded {Loaded.Count} of {Loaded.Count + Kept.Count} tensors ({LoadedValues:N0} values)";
        foreach (var (name, reason) in Kept) yield return $"  not loaded, initialised afresh: {name} ({reason})";
        foreach (var (name, shape) in Unused) yield return $"  in the source only, not used: {name} {shape}";
    }
}

/// <summary>
/// Fine-tuning's start: copies into a freshly initialised network every parameter and buffer of a
/// checkpoint whose name and shape match, whatever network or dataset the checkpoint was trained
/// for. What does not match keeps its initialisation: typically the classifier of another class
/// count (CIFAR-10 → CIFAR-100, ImageNet's 1000 → CIFAR's 10), whose shape differs. Momentum and
/// the trainer's state are not carried over: a fine-tuning run starts its own.
/// </summary>
public static class WeightTransfer
{
    public static TransferReport Apply(string path, ParameterSet set)
    {
        var file = SafeTensorsReader.Read(path);
        if (file.Metadata.TryGetValue(Checkpoint.ConvLayoutKey, out var layout) && layout != Checkpoint.ConvLayout)
            throw new CheckpointException($"--init-from {path}: its convolution weights are {layout}, this engine's are {Checkpoint.ConvLayout}; give a checkpoint this trainer wrote");

        var loaded = new List<string>();
        var kept = new List<(string, string)>();
        var copies = new List<(Parameter Slot, SafeTensor Source)>();
        foreach (var (name, slot) in set.Parameters.Concat(set.BufferSlots))
        {
            if (!file.TryGet(name, out var source)) kept.Add((name, "not in the source"));
            else if (!source.Shape.SequenceEqual(slot.Shape.ToLongArray())) kept.Add((name, $"{source.ShapeText} in the source, {slot.Shape} here"));
            else if (source.DType is not (SafeTensorsDType.F32 or SafeTensorsDType.F64)) kept.Add((name, $"{source.DType.HeaderName()} in the source, not a float"));
            else
            {
                copies.Add((slot, source));
                loaded.Add(name);
            }
        }
        if (copies.Count == 0)
            throw new CheckpointException($"--init-from {path}: none of its tensors has the name and shape of one of this network's; was it trained for another network?");

        var names = set.Parameters.Concat(set.BufferSlots).Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        var unused = file.Tensors
            .Where(t => !names.Contains(t.Name) && !t.Name.StartsWith(Checkpoint.MomentumPrefix, StringComparison.Ordinal) && !t.Name.StartsWith(Checkpoint.ExtraPrefix, StringComparison.Ordinal))
            .Select(t => (t.Name, t.ShapeText)).ToList();

        // Checked in full above; only now is the network changed.
        foreach (var (slot, source) in copies) slot.Value.UploadDoubles(source.DType == SafeTensorsDType.F64 ? source.ToDoubles() : Array.ConvertAll(source.ToFloats(), v => (double)v));
        return new TransferReport(path, loaded, copies.Sum(c => c.Source.Count), kept, unused);
    }
}
