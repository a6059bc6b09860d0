using System.Numerics;

namespace Igcv3.Engine.Cpu;

public sealed partial class CpuBackend
{
    public void SoftmaxCrossEntropyForward(Tensor logits, Tensor labels, Tensor probabilities, Tensor loss, double smoothing) =>
        ByType(logits.DType,
            () => SoftmaxCrossEntropyForwardKernel<float>(logits, labels, probabilities, loss, smoothing),
            () => SoftmaxCrossEntropyForwardKernel<double>(logits, labels, probabilities, loss, smoothing));

    public void SoftmaxCrossEntropyBackward(Tensor probabilities, Tensor labels, Tensor dloss, Tensor dlogits, double smoothing)
    {
        ZeroUnwritten(dlogits);
        ByType(dlogits.DType,
            () => SoftmaxCrossEntropyBackwardKernel<float>(probabilities, labels, dloss, dlogits, smoothing),
            () => SoftmaxCrossEntropyBackwardKernel<double>(probabilities, labels, dloss, dlogits, smoothing));
    }

    /// <summary>p = softmax(z) per row (the row max subtracted first, so exp never overflows);
    /// loss = (1/N)·Σ_n Σ_k −t[n, k]·log p[n, k] with t = (1 − ε)·onehot(label) + ε/K, which per row
    /// is logsumexp(z) − (1 − ε)·z[label] − (ε/K)·Σ_k z[k].</summary>
    private static void SoftmaxCrossEntropyForwardKernel<T>(Tensor logits, Tensor labels, Tensor probabilities, Tensor loss, double smoothing)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = logits.Shape[0], classes = logits.Shape[1];
        ReadOnlySpan<int> sl = Span<int>(labels);     // labels [N]
        CheckLabels("softmax_cross_entropy", sl, classes);
        var mz = Memory<T>(logits);                   // logits [N, K]
        var mp = Memory<T>(probabilities);            // probabilities [N, K]
        var ml = Memory<int>(labels);
        var rowLoss = new double[n];
        Parallel.For(0, n, row =>
        {
            ReadOnlySpan<T> z = mz.Span.Slice(row * classes, classes);
            Span<T> p = mp.Span.Slice(row * classes, classes);
            double max = double.NegativeInfinity;
            for (int k = 0; k < classes; k++) max = Math.Max(max, double.CreateTruncating(z[k]));
            double sumExp = 0, sumZ = 0;
            for (int k = 0; k < classes; k++)
            {
                double zk = double.CreateTruncating(z[k]);
                sumExp += Math.Exp(zk - max);
                sumZ += zk;
            }
            for (int k = 0; k < classes; k++) p[k] = Cast<T>(Math.Exp(double.CreateTruncating(z[k]) - max) / sumExp);
            double logSumExp = max + Math.Log(sumExp);
            double zLabel = double.CreateTruncating(z[ml.Span[row]]);
            rowLoss[row] = logSumExp - (1 - smoothing) * zLabel - smoothing / classes * sumZ;
        });
        double total = 0;
        foreach (double l in rowLoss) total += l; // in row order: deterministic
        Span<T>(loss)[0] = Cast<T>(total / n);
    }

    /// <summary>dlogits[n, k] += dloss·(p[n, k] − t[n, k])/N, t = (1 − ε)·onehot(label) + ε/K.</summary>
    private static void SoftmaxCrossEntropyBackwardKernel<T>(Tensor probabilities, Tensor labels, Tensor dloss, Tensor dlogits, double smoothing)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = probabilities.Shape[0], classes = probabilities.Shape[1];
        CheckLabels("softmax_cross_entropy backward", Span<int>(labels), classes);
        var mp = Memory<T>(probabilities); // probabilities [N, K]
        var ml = Memory<int>(labels);      // labels [N]
        var mdz = Memory<T>(dlogits);      // dlogits [N, K]
        double scale = double.CreateTruncating(Span<T>(dloss)[0]) / n; // dloss []
        double offTarget = smoothing / classes, onTarget = 1 - smoothing + smoothing / classes;
        Parallel.For(0, n, row =>
        {
            ReadOnlySpan<T> p = mp.Span.Slice(row * classes, classes);
            Span<T> dz = mdz.Span.Slice(row * classes, classes);
            int label = ml.Span[row];
            for (int k = 0; k < classes; k++)
            {
                double target = k == label ? onTarget : offTarget;
                dz[k] += Cast<T>(scale * (double.CreateTruncating(p[k]) - target));
            }
        });
    }

    /// <summary>Labels are data, not shapes, so only the backend can see them: a label outside
    /// [0, K) would index past a row of logits.</summary>
    private static void CheckLabels(string op, ReadOnlySpan<int> labels, int classes)
    {
        for (int i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] >= (uint)classes)
            {
                throw new ArgumentException($"{op}: label {labels[i]} at row {i} is outside [0, {classes}) for logits with {classes} classes");
            }
        }
    }
}
