using Igcv3.Engine;
using Igcv3.Kernels;
using Spectre.Console;

namespace Igcv3.Train.Commands;

/// <summary>
/// What the commands get from outside: where to write, how to build a CUDA backend (null until
/// one exists), the Ctrl+C token, and whether a live progress bar can be drawn. Tests pass their
/// own writers and token and run the CLI in-process.
/// </summary>
public sealed class CliEnvironment
{
    public required TextWriter Out { get; init; }
    public required TextWriter Error { get; init; }
    public Func<CudaDevice, IBackend>? CudaBackend { get; init; }
    public CancellationToken Cancellation { get; init; }

    /// <summary>Draw Spectre.Console progress bars (a terminal) instead of plain lines (redirected output, tests).</summary>
    public bool Interactive { get; init; }

    /// <summary>Called after each training step with the global step count.</summary>
    public Action<long>? AfterStep { get; init; }

    public Progress.IProgressReporter Progress() => Interactive
        ? new Progress.SpectreProgress(AnsiConsole.Console)
        : new Progress.PlainProgress(Out);

    /// <summary>The real console. The CUDA backend factory is filled in once the CUDA backend lands.</summary>
    public static CliEnvironment ForConsole(CancellationToken cancellation) => new()
    {
        Out = Console.Out,
        Error = Console.Error,
        CudaBackend = BackendFactories.Cuda,
        Cancellation = cancellation,
        Interactive = !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive,
    };
}
