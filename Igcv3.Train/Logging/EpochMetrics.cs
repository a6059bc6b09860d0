namespace Igcv3.Train.Logging;

/// <summary>
/// One epoch's results. Accuracies are percentages (0-100); the test fields are null for an epoch
/// that was not evaluated. ImagesPerSecond is training throughput; Seconds the epoch's wall time.
/// </summary>
public sealed record EpochMetrics(
    int Epoch,
    double LearningRate,
    double TrainLoss,
    double TrainTop1,
    double? TestLoss,
    double? TestTop1,
    double? TestTop5,
    double ImagesPerSecond,
    double Seconds);

/// <summary>Somewhere an epoch's metrics go (CSV, JSONL, TensorBoard, the curves page).</summary>
public interface IMetricsSink : IDisposable
{
    void Write(EpochMetrics metrics);

    /// <summary>A training step's figures, as they are read back (every --log-every steps).</summary>
    void WriteStep(StepMetrics step) { }
}

/// <summary>
/// One training step: its global step, its position in epochs (2.25 is a quarter into the third
/// epoch; the last step of epoch e is at e, where that epoch's metrics are drawn), its loss and
/// learning rate, and the images/s of the session so far where this is the last step of a read.
/// </summary>
public sealed record StepMetrics(long Step, double Epoch, double Loss, double LearningRate, double? ImagesPerSecond);
