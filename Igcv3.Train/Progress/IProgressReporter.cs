namespace Igcv3.Train.Progress;

/// <summary>The running figures of the epoch in progress; <see cref="Loader"/> where the input is read from image files.</summary>
public readonly record struct StepProgress(int StepsDone, int TotalSteps, double Loss, double Top1, double ImagesPerSecond, TimeSpan Eta, LoaderProgress? Loader = null)
{
    /// <summary>" | step 410 img/s  loader 950 img/s", or nothing without a loader's figures.</summary>
    public string LoaderText => Loader is { } l
        ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $" | step {l.StepImagesPerSecond:F0} img/s  loader {l.LoaderImagesPerSecond:F0} img/s")
        : "";
}

/// <summary>
/// Which side limits: the step's rate (images over the time not spent waiting for batches) and
/// the loader's (images over its workers' busy time, per worker count). The slower one sets the pace.
/// </summary>
public readonly record struct LoaderProgress(double StepImagesPerSecond, double LoaderImagesPerSecond);

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
