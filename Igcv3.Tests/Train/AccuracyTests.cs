using Igcv3.Train.Training;
using Xunit;

namespace Igcv3.Tests.Train;

/// <summary>Top-k as torch.topk-based accuracy counts it, pessimistically: a prediction is right
/// only when fewer than k other logits are at least the label's, and a NaN makes it wrong.</summary>
public class AccuracyTests
{
    private static (int Top1, int Top5) One(int label, params float[] row) => Accuracy.Count(row, [label], row.Length);

    [Fact]
    public void TheStrictMaximum_IsTop1()
    {
        Assert.Equal((1, 1), One(2, 0.1f, 0.2f, 0.9f, 0.3f, 0f, 0f, 0f));
        Assert.Equal((0, 1), One(2, 0.1f, 0.95f, 0.9f, 0.3f, 0f, 0f, 0f));
    }

    [Fact]
    public void ATie_CountsAgainstTheLabel()
    {
        // All logits equal (a dead or diverged model): no prediction is right.
        Assert.Equal((0, 0), One(3, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f));
        // A tie for the maximum: not top-1, still top-5.
        Assert.Equal((0, 1), One(0, 1f, 1f, 0f, 0f, 0f, 0f, 0f));
        // Four larger and one equal: five rivals, not top-5.
        Assert.Equal((0, 0), One(0, 0.5f, 0.9f, 0.9f, 0.9f, 0.9f, 0.5f, 0f));
    }

    [Fact]
    public void NaN_MakesThePredictionWrong()
    {
        Assert.Equal((0, 0), One(1, 0f, float.NaN, 0f, 0f, 0f, 0f, 0f));
        // Fewer classes than k: a NaN label logit still is not top-5.
        Assert.Equal((0, 0), One(1, 0f, float.NaN, 0f));
        // A NaN elsewhere ranks above the label, as torch.topk orders NaN first.
        Assert.Equal((0, 1), One(0, 0.9f, float.NaN, 0f, 0f, 0f, 0f, 0f));
        Assert.Equal((0, 0), One(0, 0.9f, float.NaN, float.NaN, float.NaN, float.NaN, float.NaN, 0f));
        // +Infinity on the label is a maximum; rows are independent.
        Assert.Equal((1, 2), Accuracy.Count([float.PositiveInfinity, 0f, 0f, float.NaN, 1f, 1f], [0, 2], 3));
    }
}
