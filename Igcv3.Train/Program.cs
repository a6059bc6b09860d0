using System.Runtime.InteropServices;
using Igcv3.Train.Commands;

// Ctrl+C (SIGINT) and SIGTERM (how Slurm, Docker and Kubernetes stop a job): the first lets the
// current step finish, saves a checkpoint and exits with 130; a second ends the process at once.
using var cancellation = new CancellationTokenSource();
int signals = 0;
bool Stop(string signal)
{
    if (Interlocked.Increment(ref signals) > 1) return false;
    Console.Error.WriteLine($"{signal}: finishing the current step and saving a checkpoint (send it again to quit at once)");
    cancellation.Cancel();
    return true;
}
Console.CancelKeyPress += (_, e) => e.Cancel = Stop("Ctrl+C");
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => context.Cancel = Stop("SIGTERM"));
return Cli.Run(args, CliEnvironment.ForConsole(cancellation.Token));
