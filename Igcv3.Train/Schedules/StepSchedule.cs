namespace Igcv3.Train.Schedules;

/// <summary>
/// Step decay: lr = BaseRate * Factor^m, m = number of milestones reached, milestone i at epoch
/// Fractions[i] * TotalEpochs (counted in steps, so a fractional milestone falls mid-epoch).
/// IGCV1's CIFAR recipe: 0.1 divided by 10 at 1/2, 3/4 and 7/8 of 400 epochs.
/// </summary>
public sealed class StepSchedule : ILearningRateSchedule
{
    public StepSchedule(double baseRate, int totalEpochs, IReadOnlyList<double>? fractions = null, double factor = 0.1)
    {
        ScheduleChecks.Positive("step schedule", nameof(baseRate), baseRate);
        ScheduleChecks.Positive("step schedule", nameof(totalEpochs), totalEpochs);
        ScheduleChecks.Positive("step schedule", nameof(factor), factor);
        fractions ??= Igcv1Fractions;
        for (int i = 0; i < fractions.Count; i++)
            if (!(fractions[i] > 0 && fractions[i] < 1) || (i > 0 && fractions[i] <= fractions[i - 1]))
                throw new ArgumentException($"step schedule: fractions must rise strictly within (0, 1), got [{string.Join(", ", fractions)}]");
        BaseRate = baseRate;
        TotalEpochs = totalEpochs;
        Fractions = fractions.ToArray();
        Factor = factor;
    }

    /// <summary>IGCV1: 1/2, 3/4, 7/8.</summary>
    public static IReadOnlyList<double> Igcv1Fractions { get; } = [0.5, 0.75, 0.875];

    public double BaseRate { get; }
    public int TotalEpochs { get; }
    public IReadOnlyList<double> Fractions { get; }
    public double Factor { get; }

    public double LearningRate(int epoch, int stepInEpoch, int stepsPerEpoch)
    {
        ScheduleChecks.Position("step schedule", epoch, stepInEpoch, stepsPerEpoch);
        long step = (long)epoch * stepsPerEpoch + stepInEpoch;
        int reached = 0;
        foreach (double fraction in Fractions)
            if (step >= (long)Math.Ceiling(fraction * TotalEpochs * stepsPerEpoch - 1e-9)) reached++;
        return BaseRate * Math.Pow(Factor, reached);
    }
}
