namespace Igcv3.Train.Schedules;

/// <summary>
/// Linear warm-up then cosine decay, per step s = epoch * S + step (S steps per epoch):
/// lr = PeakRate * (s + 1) / W for s &lt; W = WarmupEpochs * S, then
/// lr = MinRate + (PeakRate - MinRate) * (1 + cos(pi * (s - W) / (T - W))) / 2 with T = TotalEpochs * S.
/// The "+ 1" makes the first step's rate PeakRate / W rather than zero, a wasted step.
/// </summary>
public sealed class WarmupCosineSchedule : ILearningRateSchedule
{
    public WarmupCosineSchedule(double peakRate, int totalEpochs, double warmupEpochs = 5, double minRate = 0)
    {
        ScheduleChecks.Positive("cosine schedule", nameof(peakRate), peakRate);
        ScheduleChecks.Positive("cosine schedule", nameof(totalEpochs), totalEpochs);
        if (!(warmupEpochs >= 0 && warmupEpochs < totalEpochs))
            throw new ArgumentOutOfRangeException(nameof(warmupEpochs), $"cosine schedule: warm-up must be in [0, {totalEpochs}) epochs, got {warmupEpochs}");
        if (!(minRate >= 0 && minRate <= peakRate))
            throw new ArgumentOutOfRangeException(nameof(minRate), $"cosine schedule: min rate must be in [0, {peakRate}], got {minRate}");
        PeakRate = peakRate;
        TotalEpochs = totalEpochs;
        WarmupEpochs = warmupEpochs;
        MinRate = minRate;
    }

    public double PeakRate { get; }
    public int TotalEpochs { get; }
    public double WarmupEpochs { get; }
    public double MinRate { get; }

    public double LearningRate(int epoch, int stepInEpoch, int stepsPerEpoch)
    {
        ScheduleChecks.Position("cosine schedule", epoch, stepInEpoch, stepsPerEpoch);
        double step = (double)epoch * stepsPerEpoch + stepInEpoch;
        double warmup = Math.Round(WarmupEpochs * stepsPerEpoch);
        double total = (double)TotalEpochs * stepsPerEpoch;
        if (step < warmup) return PeakRate * (step + 1) / warmup;
        double progress = Math.Min((step - warmup) / (total - warmup), 1.0); // past the end: stay at MinRate
        return MinRate + (PeakRate - MinRate) * (1 + Math.Cos(Math.PI * progress)) / 2;
    }
}
