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
}
