namespace Igcv3.Train.Schedules;

/// <summary>
/// Exponential decay per epoch: lr = BaseRate * Gamma^epoch, constant within an epoch.
/// IGCV3's recipe: 0.1 (CIFAR) or 0.045 (ImageNet) times 0.98 per epoch.
/// </summary>
public sealed class ExponentialSchedule : ILearningRateSchedule
{
    public ExponentialSchedule(double baseRate, double gamma = 0.98)
    {
        ScheduleChecks.Positive("exponential schedule", nameof(baseRate), baseRate);
        ScheduleChecks.Positive("exponential schedule", nameof(gamma), gamma);
        BaseRate = baseRate;
        Gamma = gamma;
    }

    public double BaseRate { get; }
    public double Gamma { get; }

    public double LearningRate(int epoch, int stepInEpoch, int stepsPerEpoch)
    {
        ScheduleChecks.Position("exponential schedule", epoch, stepInEpoch, stepsPerEpoch);
        return BaseRate * Math.Pow(Gamma, epoch);
    }
}
