namespace Igcv3.Train.Commands;

/// <summary>A mistake in the options or the config file: the message says which and what to do.</summary>
public sealed class UsageException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The output folder cannot be written, or holds a run that would be overwritten.</summary>
public sealed class OutputFolderException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The requested device cannot be used (no GPU, no driver, no CUDA backend).</summary>
public sealed class DeviceException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Training diverged (a NaN or infinite loss): the message names the step, the learning rate and what to change.</summary>
public sealed class DivergedException(string message) : Exception(message);
