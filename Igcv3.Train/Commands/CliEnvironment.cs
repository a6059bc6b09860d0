using Igcv3.Engine;
using Igcv3.Kernels;
using Igcv3.Train.Data;
using Spectre.Console;

namespace Igcv3.Train.Commands;

/// <summary>
/// What the commands get from outside: where to write, how to build a CUDA backend, the Ctrl+C token, and whether a live progress bar can be drawn. Tests pass their
/// own writers and token and run the CLI in-process.
/// </summary>
public sealed class CliEnvironment
{
    public required TextWriter Out { get; init; }
    public required TextWriter Error { get; init; }
    public Func<CudaDevice, IBackend> CudaBackend { get; init; } = Igcv3.Kernels.Cuda.CudaBackend.Create;

    /// <summary>What each CIFAR release looks like on disk and where its archive is fetched from;
    /// tests give smaller releases served from a local HTTP server.</summary>
    public Func<CifarKind, CifarLayout> CifarLayouts { get; init; } = CifarLayout.For;
    public CancellationToken Cancellation { get; init; }

    /// <summary>Draw Spectre.Console progress bars (a terminal) instead of plain lines (redirected output, tests).</summary>
    public bool Interactive { get; init; }

    /// <summary>The wall clock of --time-limit-minutes; tests pass one that their steps advance.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Called after each training step with the global step count.</summary>
    public Action<long>? AfterStep { get; init; }

    /// <summary>Called with a checkpoint's path before it is written; tests throw from it as a full disk would.</summary>
    public Action<string>? BeforeCheckpoint { get; init; }

    public Progress.IProgressReporter Progress() => Interactive
        ? new Progress.SpectreProgress(AnsiConsole.Console)
        : new Progress.PlainProgress(Out, Time);

    /// <summary>The real console.</summary>
    public static CliEnvironment ForConsole(CancellationToken cancellation) => new()
    {
        Out = Console.Out,
        Error = Console.Error,
        Cancellation = cancellation,
        Interactive = !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive,
    };
}
