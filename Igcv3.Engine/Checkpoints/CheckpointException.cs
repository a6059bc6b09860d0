namespace Igcv3.Engine.Checkpoints;

/// <summary>A checkpoint file that is malformed, truncated, or does not fit the network it is loaded
/// into. The message names the file and the first problem found. An <see cref="IOException"/>
/// (InvalidDataException is sealed), so callers that treat any unreadable file alike can catch that.</summary>
public sealed class CheckpointException : IOException
{
    public CheckpointException(string message) : base(message) { }

    public CheckpointException(string message, Exception inner) : base(message, inner) { }
}
