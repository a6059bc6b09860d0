using System.CommandLine;

namespace Igcv3.Train.Commands;

/// <summary>
/// The command line: <c>train</c>, <c>eval</c>, <c>summary</c>, <c>export</c>, <c>predict</c>. <see cref="Run"/> is the whole
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
            ExportCommand.Create(env),
            PredictCommand.Create(env),
        };
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            string command = parsed.CommandResult.Command == root ? "" : " " + parsed.CommandResult.Command.Name;
            string message = UnknownOption(parsed) ?? string.Join("; ", parsed.Errors.Take(2).Select(e => ErrorReporter.OneLine(e.Message)));
            env.Error.WriteLine($"error: {message} (see 'Igcv3.Train{command} --help')");
            return ExitCodes.Usage;
        }
        return parsed.Invoke(new InvocationConfiguration { Output = env.Out, Error = env.Error, EnableDefaultExceptionHandler = false });
    }

    /// <summary>"unknown option '--lrr'; did you mean --lr?" for the first unknown option given, if any.</summary>
    private static string? UnknownOption(ParseResult parsed)
    {
        string? unknown = parsed.UnmatchedTokens.FirstOrDefault(t => t.StartsWith("--", StringComparison.Ordinal));
        if (unknown is null) return null;
        string? nearest = parsed.CommandResult.Command.Options.Select(o => o.Name).Where(n => n.StartsWith("--", StringComparison.Ordinal))
            .MinBy(n => EditDistance(unknown, n));
        // Within a third of the name's letters: closer than that it is a typo, further a different word.
        return nearest is not null && EditDistance(unknown, nearest) <= Math.Max(1, (unknown.Length - 2) / 3)
            ? $"unknown option '{unknown}'; did you mean {nearest}?"
            : $"unknown option '{unknown}'";
    }

    /// <summary>Levenshtein distance: the fewest single-letter insertions, deletions and substitutions from a to b.</summary>
    public static int EditDistance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1], previous[j]) + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            previous = current;
        }
        return previous[b.Length];
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
