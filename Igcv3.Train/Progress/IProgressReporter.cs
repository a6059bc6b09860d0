namespace Igcv3.Train.Progress;

/// <summary>The running figures of the epoch in progress.</summary>
public readonly record struct StepProgress(int StepsDone, int TotalSteps, double Loss, double Top1, double ImagesPerSecond, TimeSpan Eta);

/// <summary>Receives the progress of one epoch.</summary>
public interface IEpochProgress
{
    void Update(StepProgress progress);
}

/// <summary>
/// Shows training progress: a live bar per epoch on a terminal, plain lines where the output is
/// redirected (CI logs, tests), where a bar would be a mess of control codes.
/// </summary>
public interface IProgressReporter
{
    /// <summary>Runs <paramref name="body"/>, which trains one epoch and reports through the given progress.</summary>
    void RunEpoch(string title, int totalSteps, int firstStep, Action<IEpochProgress> body);

    /// <summary>A line of text between epochs.</summary>
    void Line(string text);
}
