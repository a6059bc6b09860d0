using Igcv3.Engine.IO;
using Igcv3.Engine.Nn;

namespace Igcv3.Engine.Checkpoints;

/// <summary>
/// Saves and restores a network's parameters, buffers and SGD momentum as one safetensors file,
/// one tensor per slot so that any safetensors reader (PyTorch's included) can pick out a tensor:
/// <list type="bullet">
/// <item>"stages.0.dw.weight": each parameter and buffer under its hierarchical name;</item>
/// <item>"optimizer.momentum.stages.0.dw.weight": SGD momentum per parameter (PyTorch's
///   momentum_buffer: dampening 0, same update rule);</item>
/// <item>"extra.&lt;name&gt;": small tensors the trainer adds (e.g. I64 [epoch, step, seed]);</item>
/// <item>__metadata__: the caller's strings plus "igcv3.conv_layout" = "OHWI" and
///   "igcv3.checkpoint_version".</item>
/// </list>
/// Values are stored in the set's dtype (F32 or F64) and layout, as they are: convolution weights
/// are OHWI [Cout, K, K, Cin/groups], not PyTorch's OIHW. A PyTorch user converts with
/// <c>w.permute(0, 3, 1, 2).contiguous()</c> (and back with <c>w.permute(0, 2, 3, 1)</c>); the
/// layout is recorded in the metadata instead of being transposed silently.
/// </summary>
public static class Checkpoint
{
    public const string MomentumPrefix = "optimizer.momentum.";
    public const string ExtraPrefix = "extra.";

    /// <summary>Metadata keys starting with this are written by the engine; callers may not set them.</summary>
    public const string ReservedMetadataPrefix = "igcv3.";
    public const string ConvLayoutKey = "igcv3.conv_layout";
    public const string ConvLayout = "OHWI";
    public const string VersionKey = "igcv3.checkpoint_version";
    public const string Version = "1";

    /// <summary>Writes <paramref name="set"/>'s parameters and buffers, the optimizer's momentum if
    /// given, the caller's metadata and extra tensors to <paramref name="path"/>, atomically: the
    /// previous file at that path stays intact unless the new one is complete and on disk.</summary>
    public static void Save(string path, ParameterSet set, Sgd? optimizer = null,
        IReadOnlyDictionary<string, string>? metadata = null, IEnumerable<SafeTensor>? extras = null)
    {
        ArgumentNullException.ThrowIfNull(set);
        CheckOptimizer(set, optimizer);

        // Everything that can fail (downloads, the caller's metadata and extras) happens inside the
        // atomic write, so a failure leaves no temporary file and the old checkpoint in place.
        AtomicFile.Write(path, stream =>
        {
            var tensors = new List<SafeTensor>();
            var values = Download(set.Values);
            foreach (var (name, p) in set.Parameters) tensors.Add(Slice(name, values, p.Value.Offset - set.Values.Offset, p.Shape));
            var buffers = Download(set.Buffers);
            foreach (var (name, p) in set.BufferSlots) tensors.Add(Slice(name, buffers, p.Value.Offset - set.Buffers.Offset, p.Shape));
            if (optimizer is not null)
            {
                // momentum [P], laid out like set.Values
                var momentum = Download(optimizer.MomentumBuffer);
                foreach (var (name, p) in set.Parameters) tensors.Add(Slice(MomentumPrefix + name, momentum, p.Value.Offset - set.Values.Offset, p.Shape));
            }
            foreach (var extra in extras ?? [])
            {
                tensors.Add(new SafeTensor(ExtraPrefix + extra.Name, extra.DType, extra.Shape, extra.Data.ToArray()));
            }

            var allMetadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
            {
                if (key.StartsWith(ReservedMetadataPrefix, StringComparison.Ordinal) || key == SafeTensorsHeader.MetadataKey)
                {
                    throw new ArgumentException($"checkpoint {path}: metadata key '{key}' is reserved (keys starting with '{ReservedMetadataPrefix}' are written by the engine)", nameof(metadata));
                }
                allMetadata[key] = value;
            }
            allMetadata[ConvLayoutKey] = ConvLayout;
            allMetadata[VersionKey] = Version;
            SafeTensorsWriter.Write(stream, tensors, allMetadata);
        });
    }

    /// <summary>Copies a checkpoint's values into <paramref name="set"/> (and the momentum into
    /// <paramref name="optimizer"/> if given). The whole file is checked against the network first:
    /// every parameter and buffer present with the right shape and dtype, no unknown tensors; on the
    /// first misfit it throws <see cref="CheckpointException"/> and the network is untouched.
    /// Momentum in the file is ignored when no optimizer is given.</summary>
    public static LoadedCheckpoint Load(string path, ParameterSet set, Sgd? optimizer = null)
    {
        ArgumentNullException.ThrowIfNull(set);
        CheckOptimizer(set, optimizer);
        var file = SafeTensorsReader.Read(path);
        string misfit = $"checkpoint {path} does not fit this network";

        if (file.Metadata.TryGetValue(ConvLayoutKey, out var layout) && layout != ConvLayout)
        {
            throw new CheckpointException($"{misfit}: its convolution weights are {layout} but this engine uses {ConvLayout}; permute them before loading");
        }

        // Every expected tensor: (name in the file, slot shape, flat offset, which flat buffer).
        var expected = new List<(string Name, Shape Shape, long Offset, Target Target)>();
        foreach (var (name, p) in set.Parameters) expected.Add((name, p.Shape, p.Value.Offset - set.Values.Offset, Target.Values));
        foreach (var (name, p) in set.BufferSlots) expected.Add((name, p.Shape, p.Value.Offset - set.Buffers.Offset, Target.Buffers));
        if (optimizer is not null)
        {
            foreach (var (name, p) in set.Parameters) expected.Add((MomentumPrefix + name, p.Shape, p.Value.Offset - set.Values.Offset, Target.Momentum));
        }

        var dtype = set.Values.DType.ToSafeTensors();
        foreach (var (name, shape, _, target) in expected)
        {
            if (!file.TryGet(name, out var t))
            {
                string hint = target == Target.Momentum
                    ? "the file holds no optimizer state; load it without an optimizer to start the momentum from zero"
                    : "was it saved from another network?";
                throw new CheckpointException($"{misfit}: '{name}' {shape} is missing from the file — {hint}");
            }
            if (!t.Shape.SequenceEqual(shape.ToLongArray()))
            {
                throw new CheckpointException($"{misfit}: '{name}' is {t.ShapeText} in the file but {shape} here — was it saved from another network or width?");
            }
            if (t.DType != dtype)
            {
                throw new CheckpointException($"{misfit}: '{name}' is {t.DType.HeaderName()} in the file but this network is {dtype.HeaderName()} — create the ParameterSet with DType.{t.DType.HeaderName()} to load it");
            }
        }

        var expectedNames = expected.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        var parameterNames = set.Parameters.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var extras = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
        foreach (var t in file.Tensors)
        {
            if (expectedNames.Contains(t.Name)) continue;
            if (t.Name.StartsWith(ExtraPrefix, StringComparison.Ordinal))
            {
                extras[t.Name[ExtraPrefix.Length..]] = t;
                continue;
            }
            // Momentum of a known parameter, loaded without an optimizer: deliberately skipped.
            if (optimizer is null && t.Name.StartsWith(MomentumPrefix, StringComparison.Ordinal) && parameterNames.Contains(t.Name[MomentumPrefix.Length..])) continue;
            throw new CheckpointException($"{misfit}: the file holds '{t.Name}' {t.ShapeText}, which this network does not have — was it saved from another network?");
        }

        // Everything fits: decode into host copies of the flat buffers, then upload each in one go.
        if (dtype == SafeTensorsDType.F32) CopyIn<float>(set, optimizer, file, expected, t => t.ToFloats());
        else CopyIn<double>(set, optimizer, file, expected, t => t.ToDoubles());
        return new LoadedCheckpoint(file.Metadata, extras);
    }

    private enum Target { Values, Buffers, Momentum }

    private static void CopyIn<T>(ParameterSet set, Sgd? optimizer, SafeTensorsFile file,
        List<(string Name, Shape Shape, long Offset, Target Target)> expected, Func<SafeTensor, T[]> decode) where T : unmanaged
    {
        var values = new T[set.Values.Count];     // [P]
        var buffers = new T[set.Buffers.Count];   // [B]
        var momentum = new T[set.Values.Count];   // [P], used only with an optimizer
        foreach (var (name, _, offset, target) in expected)
        {
            file.TryGet(name, out var t);
            var destination = target switch { Target.Values => values, Target.Buffers => buffers, _ => momentum };
            decode(t).CopyTo(destination, offset);
        }
        set.Backend.Upload<T>(values, set.Values);
        if (buffers.Length > 0) set.Backend.Upload<T>(buffers, set.Buffers);
        if (optimizer is not null) set.Backend.Upload<T>(momentum, optimizer.MomentumBuffer);
    }

    private static void CheckOptimizer(ParameterSet set, Sgd? optimizer)
    {
        if (optimizer is not null && !ReferenceEquals(optimizer.Parameters, set))
        {
            throw new ArgumentException("checkpoint: the optimizer belongs to another ParameterSet than the one given", nameof(optimizer));
        }
    }

    /// <summary>Host copy of a flat buffer in its own dtype (no rounding of F64 through float).</summary>
    private static Array Download(Tensor flat) => flat.DType switch
    {
        DType.F32 => flat.ToFloatArray(),
        DType.F64 => flat.ToDoubleArray(),
        _ => throw new ArgumentException($"checkpoint: only F32 and F64 parameter sets can be saved, this one is {flat.DType}"),
    };

    private static SafeTensor Slice(string name, Array flat, long offset, Shape shape)
    {
        long[] dims = shape.ToLongArray();
        int start = checked((int)offset);
        int count = checked((int)shape.Count);
        return flat switch
        {
            float[] f => SafeTensor.FromFloats(name, f.AsSpan(start, count), dims),
            double[] d => SafeTensor.FromDoubles(name, d.AsSpan(start, count), dims),
            _ => throw new InvalidOperationException($"checkpoint: unexpected host array {flat.GetType().Name}"),
        };
    }
}
