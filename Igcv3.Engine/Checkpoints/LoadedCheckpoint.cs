namespace Igcv3.Engine.Checkpoints;

/// <summary>What <see cref="Checkpoint.Load"/> returns besides the values it copied into the
/// network: the file's metadata strings (the caller's and the igcv3.* ones) and the trainer's extra
/// tensors, keyed by the names they were saved under (without the "extra." prefix).</summary>
public sealed record LoadedCheckpoint(IReadOnlyDictionary<string, string> Metadata, IReadOnlyDictionary<string, SafeTensor> Extras);
