using Igcv3.Train.Schedules;
using Xunit;

namespace Igcv3.Tests.Train;

public class ScheduleTests
{
    private const int Steps = 7; // steps per epoch: odd, so milestones and warm-up land off round numbers

    /// <summary>Every (epoch, step) of a run, in order, with its rate.</summary>
    private static double[] Trace(ILearningRateSchedule schedule, int epochs) =>
        Enumerable.Range(0, epochs).SelectMany(e => Enumerable.Range(0, Steps).Select(s => schedule.LearningRate(e, s, Steps))).ToArray();

    [Fact]
    public void Step_Igcv1_DividesByTenAtHalfThreeQuartersAndSevenEighths()
    {
        var schedule = new StepSchedule(0.1, 400);

        Assert.Equal(0.1, schedule.LearningRate(0, 0, Steps), 12);
        Assert.Equal(0.1, schedule.LearningRate(199, Steps - 1, Steps), 12);
        Assert.Equal(0.01, schedule.LearningRate(200, 0, Steps), 12);
        Assert.Equal(0.01, schedule.LearningRate(299, Steps - 1, Steps), 12);
        Assert.Equal(0.001, schedule.LearningRate(300, 0, Steps), 12);
        Assert.Equal(0.001, schedule.LearningRate(349, 3, Steps), 12);
        Assert.Equal(0.0001, schedule.LearningRate(350, 0, Steps), 12);
        Assert.Equal(0.0001, schedule.LearningRate(399, Steps - 1, Steps), 12);
    }

    [Fact]
    public void Step_FractionalMilestone_FallsMidEpoch_AndTheTraceNeverRises()
    {
        // 3 epochs at 1/2: the milestone is step 1.5 * 7 = 10.5, so step 11 (epoch 1, step 4) is the first decayed one.
        var schedule = new StepSchedule(1.0, 3, [0.5], factor: 0.5);
        Assert.Equal(1.0, schedule.LearningRate(1, 3, Steps));
        Assert.Equal(0.5, schedule.LearningRate(1, 4, Steps));

        var trace = Trace(new StepSchedule(0.1, 16), 16);
        for (int i = 1; i < trace.Length; i++) Assert.True(trace[i] <= trace[i - 1]);
    }

    [Fact]
    public void Exponential_IsBaseTimesGammaToTheEpoch_ConstantWithinAnEpoch()
    {
        var schedule = new ExponentialSchedule(0.1, 0.98);

        foreach (int epoch in new[] { 0, 1, 17, 479 })
        {
            double expected = 0.1 * Math.Pow(0.98, epoch);
            Assert.Equal(expected, schedule.LearningRate(epoch, 0, Steps), 12);
            Assert.Equal(expected, schedule.LearningRate(epoch, Steps - 1, Steps), 12);
        }
        var perEpoch = Enumerable.Range(0, 50).Select(e => schedule.LearningRate(e, 0, Steps)).ToArray();
        for (int i = 1; i < perEpoch.Length; i++) Assert.True(perEpoch[i] < perEpoch[i - 1]);
    }

    [Fact]
    public void WarmupCosine_MatchesItsFormula_RisesThenFalls()
    {
        const double peak = 0.4, min = 0.004;
        var schedule = new WarmupCosineSchedule(peak, totalEpochs: 10, warmupEpochs: 2, minRate: min);
        const double w = 14, t = 70; // warm-up and total steps

        double Expected(double s) => s < w ? peak * (s + 1) / w : min + (peak - min) * (1 + Math.Cos(Math.PI * (s - w) / (t - w))) / 2;
        foreach (var (epoch, step) in new[] { (0, 0), (0, 6), (1, 6), (2, 0), (3, 3), (5, 0), (9, 6) })
            Assert.Equal(Expected(epoch * Steps + step), schedule.LearningRate(epoch, step, Steps), 12);

        Assert.Equal(peak, schedule.LearningRate(1, 6, Steps), 12);  // last warm-up step reaches the peak
        Assert.Equal(peak, schedule.LearningRate(2, 0, Steps), 12);  // cosine starts at the peak
        Assert.Equal(min, schedule.LearningRate(10, 0, Steps), 12);  // past the end: the floor
        var trace = Trace(schedule, 10);
        for (int i = 1; i < 14; i++) Assert.True(trace[i] > trace[i - 1]);
        for (int i = 15; i < trace.Length; i++) Assert.True(trace[i] <= trace[i - 1]);
    }

    [Fact]
    public void WarmupCosine_WithoutWarmup_StartsAtThePeak()
    {
        var schedule = new WarmupCosineSchedule(0.1, totalEpochs: 4, warmupEpochs: 0);
        Assert.Equal(0.1, schedule.LearningRate(0, 0, Steps), 12);
        Assert.Equal(0.05, schedule.LearningRate(2, 0, Steps), 12); // halfway: cos(pi/2) = 0
    }

    [Fact]
    public void OneCycle_MatchesPyTorchsTwoPhaseCosineFormula()
    {
        const double max = 0.8;
        var schedule = new OneCycleSchedule(max, totalEpochs: 10, pctStart: 0.3, divFactor: 25, finalDivFactor: 1e4);
        const double total = 70, peakStep = 0.3 * total - 1; // 20
        double initial = max / 25, final = initial / 1e4;

        double Anneal(double begin, double end, double pct) => end + (begin - end) / 2 * (Math.Cos(Math.PI * pct) + 1);
        double Expected(double s) => s <= peakStep ? Anneal(initial, max, s / peakStep) : Anneal(max, final, (s - peakStep) / (total - 1 - peakStep));
        foreach (var (epoch, step) in new[] { (0, 0), (1, 2), (2, 6), (3, 0), (5, 5), (9, 6) })
            Assert.Equal(Expected(epoch * Steps + step), schedule.LearningRate(epoch, step, Steps), 12);

        Assert.Equal(initial, schedule.LearningRate(0, 0, Steps), 12);
        Assert.Equal(max, schedule.LearningRate(2, 6, Steps), 12);   // step 20
        Assert.Equal(final, schedule.LearningRate(9, 6, Steps), 12); // last step
        var trace = Trace(schedule, 10);
        for (int i = 1; i <= 20; i++) Assert.True(trace[i] > trace[i - 1]);
        for (int i = 21; i < trace.Length; i++) Assert.True(trace[i] < trace[i - 1]);
    }

    [Fact]
    public void Schedules_RejectBadArguments_NamingTheSchedule()
    {
        Assert.Contains("step schedule", Assert.Throws<ArgumentException>(() => new StepSchedule(0.1, 10, [0.75, 0.5])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ExponentialSchedule(-0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new WarmupCosineSchedule(0.1, 5, warmupEpochs: 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OneCycleSchedule(0.1, 5, pctStart: 1));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ExponentialSchedule(0.1).LearningRate(0, 7, 7));
        Assert.Contains("exponential schedule", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new StepSchedule(0.1, 10).LearningRate(-1, 0, 7));
    }
}
