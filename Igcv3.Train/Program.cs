using Igcv3.Train.Commands;

// Ctrl+C: the first press lets the current step finish, saves a checkpoint and exits with 130;
// a second press ends the process at once.
using var cancellation = new CancellationTokenSource();
int presses = 0;
Console.CancelKeyPress += (_, e) =>
{
    if (Interlocked.Increment(ref presses) > 1) return;
    e.Cancel = true;
    Console.Error.WriteLine("Ctrl+C: finishing the current step and saving a checkpoint (press again to quit at once)");
    cancellation.Cancel();
};
return Cli.Run(args, CliEnvironment.ForConsole(cancellation.Token));
