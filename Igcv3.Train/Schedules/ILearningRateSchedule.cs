namespace Igcv3.Train.Schedules;

/// <summary>
/// A learning-rate schedule: the rate for step <paramref name="stepInEpoch"/> (0-based) of
/// <paramref name="epoch"/> (0-based) when an epoch has <paramref name="stepsPerEpoch"/> steps.
/// Pure functions of their arguments, so a resumed run gets the same rates.
/// </summary>
public interface ILearningRateSchedule
{
    double LearningRate(int epoch, int stepInEpoch, int stepsPerEpoch);
}

/// <summary>Argument checks shared by the schedules.</summary>
internal static class ScheduleChecks
{
    public static void Position(string schedule, int epoch, int stepInEpoch, int stepsPerEpoch)
    {
        if (stepsPerEpoch <= 0 || epoch < 0 || stepInEpoch < 0 || stepInEpoch >= stepsPerEpoch)
            throw new ArgumentOutOfRangeException(nameof(stepInEpoch),
                $"{schedule}: need epoch >= 0 and 0 <= step < steps per epoch, got epoch {epoch}, step {stepInEpoch} of {stepsPerEpoch}");
    }

    public static void Positive(string schedule, string name, double value)
    {
        if (!(value > 0) || !double.IsFinite(value))
            throw new ArgumentOutOfRangeException(name, $"{schedule}: {name} must be positive and finite, got {value}");
    }
}
