using Igcv3.Engine.Checkpoints;
using Igcv3.Train.Data;

namespace Igcv3.Train.Commands;

/// <summary>
/// The one place that turns an exception into what the user sees and the exit code. A user's
/// mistake (bad option, missing data, a checkpoint that does not fit, no GPU, an unwritable
/// folder, a diverged run) is one line on stderr, "error: ...", with no stack trace. Anything else is a bug and
/// gets the full exception, so that it can be reported.
/// </summary>
public static class ErrorReporter
{
    public static int Report(Exception e, TextWriter error)
    {
        if (e is AggregateException { InnerExceptions.Count: 1 } aggregate) e = aggregate.InnerException!;
        int? code = e switch
        {
            UsageException => ExitCodes.Usage,
            DataException => ExitCodes.Data,
            CheckpointException => ExitCodes.Checkpoint,
            DeviceException => ExitCodes.Device,
            OutputFolderException => ExitCodes.Output,
            DivergedException => ExitCodes.Diverged,
            _ => null,
        };
        if (code is { } known)
        {
            error.WriteLine($"error: {OneLine(e.Message)}");
            return known;
        }
        error.WriteLine($"internal error (a bug; please report it with the text below): {e}");
        return ExitCodes.Bug;
    }

    /// <summary>A message on one line: its lines joined by spaces, their indentation dropped.</summary>
    public static string OneLine(string message) =>
        string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim()));
}
