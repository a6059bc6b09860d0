namespace Igcv3.Train.Commands;

/// <summary>Process exit codes: one per kind of failure, so scripts can tell them apart.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int Usage = 2;
    public const int Data = 3;
    public const int Checkpoint = 4;
    public const int Device = 5;
    public const int Output = 6;

    /// <summary>The loss (or the parameters) stopped being finite: the run diverged and was stopped unsaved.</summary>
    public const int Diverged = 7;

    /// <summary>An unexpected exception: a bug (BSD's EX_SOFTWARE).</summary>
    public const int Bug = 70;

    /// <summary>Stopped by Ctrl+C or SIGTERM after saving (128 + SIGINT, the shell's convention for Ctrl+C).</summary>
    public const int Interrupted = 130;
}
