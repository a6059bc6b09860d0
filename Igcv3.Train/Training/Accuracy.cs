namespace Igcv3.Train.Training;

/// <summary>Top-k counting on host logits.</summary>
public static class Accuracy
{
    /// <summary>
    /// Rows n of logits [N, K] whose label's logit is among the k largest, counted so that no
    /// model scores better than it is: the label is within the top k when fewer than k other
    /// logits are at least as large as it. A tie counts against the label (a model whose logits
    /// are all equal is right on no image), a NaN logit elsewhere ranks above it (torch.topk
    /// orders NaN first), and a NaN label logit is always wrong.
    /// </summary>
    public static (int Top1, int Top5) Count(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, int classes)
    {
        int top1 = 0, top5 = 0;
        for (int n = 0; n < labels.Length; n++)
        {
            var row = logits.Slice(n * classes, classes); // [K]
            int label = labels[n];
            float target = row[label];
            if (float.IsNaN(target)) continue;
            int rivals = 0;
            for (int k = 0; k < classes; k++) if (k != label && !(row[k] < target)) rivals++;
            if (rivals < 1) top1++;
            if (rivals < 5) top5++;
        }
        return (top1, top5);
    }
}
