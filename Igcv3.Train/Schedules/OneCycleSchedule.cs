namespace Igcv3.Train.Schedules;

/// <summary>
/// One-cycle (Smith), as PyTorch's OneCycleLR with cosine annealing and two phases. Over
/// T = TotalEpochs * S steps: start at MaxRate / DivFactor, rise to MaxRate at step
/// P = PctStart * T - 1, then fall to start / FinalDivFactor at step T - 1, each phase a cosine
/// ramp: lr = end + (begin - end) * (1 + cos(pi * t)) / 2, t the fraction of the phase done.
/// (Momentum cycling, OneCycleLR's other half, is the optimiser's business and is not done here.)
/// </summary>
public sealed class OneCycleSchedule : ILearningRateSchedule
{
    public OneCycleSchedule(double maxRate, int totalEpochs, double pctStart = 0.3, double divFactor = 25, double finalDivFactor = 1e4)
    {
        ScheduleChecks.Positive("one-cycle schedule", nameof(maxRate), maxRate);
        ScheduleChecks.Positive("one-cycle schedule", nameof(totalEpochs), totalEpochs);
        ScheduleChecks.Positive("one-cycle schedule", nameof(divFactor), divFactor);
        ScheduleChecks.Positive("one-cycle schedule", nameof(finalDivFactor), finalDivFactor);
        if (!(pctStart > 0 && pctStart < 1))
            throw new ArgumentOutOfRangeException(nameof(pctStart), $"one-cycle schedule: pctStart must be in (0, 1), got {pctStart}");
        MaxRate = maxRate;
        TotalEpochs = totalEpochs;
        PctStart = pctStart;
        DivFactor = divFactor;
        FinalDivFactor = finalDivFactor;
    }

    public double MaxRate { get; }
    public int TotalEpochs { get; }
    public double PctStart { get; }
    public double DivFactor { get; }
    public double FinalDivFactor { get; }

    public double InitialRate => MaxRate / DivFactor;
    public double FinalRate => InitialRate / FinalDivFactor;

    public double LearningRate(int epoch, int stepInEpoch, int stepsPerEpoch)
    {
        ScheduleChecks.Position("one-cycle schedule", epoch, stepInEpoch, stepsPerEpoch);
        double total = (double)TotalEpochs * stepsPerEpoch;
        double step = Math.Min((double)epoch * stepsPerEpoch + stepInEpoch, total - 1); // past the end: stay at FinalRate
        double peak = PctStart * total - 1;
        if (step <= peak) return Ramp(InitialRate, MaxRate, peak <= 0 ? 1 : step / peak);
        return Ramp(MaxRate, FinalRate, (step - peak) / (total - 1 - peak));
    }

    private static double Ramp(double begin, double end, double fraction) => end + (begin - end) * (1 + Math.Cos(Math.PI * fraction)) / 2;
}
