using System.CommandLine;

namespace Igcv3.Train.Commands;

/// <summary>
/// The command line: <c>train</c>, <c>eval</c>, <c>summary</c>. <see cref="Run"/> is the whole
/// program behind an argument list and an environment, so tests run it in-process.
/// </summary>
public static class Cli
{
    public static int Run(string[] args, CliEnvironment env)
    {
        var root = new RootCommand("Igcv3.Train: train and evaluate IGC networks (IGCV1/2/3, MobileNetV2) on CIFAR-10/100.")
        {
            TrainCommand.Create(env),
            EvalCommand.Create(env),
            SummaryCommand.Create(env),
        };
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            string command = parsed.CommandResult.Command == root ? "" : " " + parsed.CommandResult.Command.Name;
            env.Error.WriteLine($"error: {string.Join("; ", parsed.Errors.Take(2).Select(e => ErrorReporter.OneLine(e.Message)))} (see 'Igcv3.Train{command} --help')");
            return ExitCodes.Usage;
        }
        return parsed.Invoke(new InvocationConfiguration { Output = env.Out, Error = env.Error, EnableDefaultExceptionHandler = false });
    }

    /// <summary>Runs a command's body, mapping any exception to a message and an exit code (see <see
    /// cref="ErrorReporter"/>). Ctrl+C where no checkpoint is due (evaluating, downloading) stops
    /// the command with one line and the interrupted exit code; train saves first and returns it itself.</summary>
    public static int Guard(CliEnvironment env, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (OperationCanceledException) when (env.Cancellation.IsCancellationRequested)
        {
            env.Error.WriteLine("error: stopped by Ctrl+C (or SIGTERM) before the command finished; nothing it would have written was written");
            return ExitCodes.Interrupted;
        }
        catch (Exception e)
        {
            return ErrorReporter.Report(e, env.Error);
        }
    }
}
