namespace Igcv3.Train.Training;

/// <summary>Top-k counting on host logits.</summary>
public static class Accuracy
{
    /// <summary>
    /// Rows n of logits [N, K] whose label's logit is among the k largest: the label ranks below k
    /// when fewer than k logits are strictly larger (ties count in the label's favour, as
    /// torch.topk would order them arbitrarily).
    /// </summary>
    public static (int Top1, int Top5) Count(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, int classes)
    {
        int top1 = 0, top5 = 0;
        for (int n = 0; n < labels.Length; n++)
        {
            var row = logits.Slice(n * classes, classes); // [K]
            float target = row[labels[n]];
            int larger = 0;
            for (int k = 0; k < classes; k++) if (row[k] > target) larger++;
            if (larger < 1) top1++;
            if (larger < 5) top5++;
        }
        return (top1, top5);
    }
}
