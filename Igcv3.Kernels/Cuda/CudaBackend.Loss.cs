using Igcv3.Engine;

namespace Igcv3.Kernels.Cuda;

// loss.cu: mean softmax cross-entropy with label smoothing. logits, probabilities [N, K],
// labels I32 [N], loss and dloss scalars that stay on the device (Item() downloads).
// Labels are not checked on the host (that would need a synchronisation): a label outside
// [0, K) makes its row's loss, and so the mean, NaN.
public sealed partial class CudaBackend
{
    private static (int N, int K) CheckLoss(Tensor logits, Tensor labels, Tensor probabilities, Tensor scalar)
    {
        const string op = "softmax_cross_entropy (cuda)";
        if (logits.Shape.Rank != 2 || probabilities.Shape != logits.Shape || labels.Count != logits.Shape[0] || scalar.Count != 1)
        {
            throw new ArgumentException($"{op}: logits {logits.Shape} [N, K], probabilities {probabilities.Shape} [N, K], labels {labels.Shape} [N] and a scalar loss");
        }
        CheckedCount(op, logits.Count, "logits");
        return (logits.Shape[0], logits.Shape[1]);
    }

    /// <summary>p = softmax(logits); loss = mean over rows of the smoothed cross-entropy.</summary>
    public void SoftmaxCrossEntropyForward(Tensor logits, Tensor labels, Tensor probabilities, Tensor loss, double smoothing)
    {
        Enter();
        var (n, k) = CheckLoss(logits, labels, probabilities, loss);
        if (n == 0 || k == 0) throw new ArgumentException($"softmax_cross_entropy (cuda): logits {logits.Shape} must have rows and classes");
        using var rowLoss = Scratch("softmax_cross_entropy", n, sizeof(float)); // rowLoss [N]
        // grid = N, one block per row; then one block sums the rows in a fixed order.
        Launch(CudaKernels.SoftmaxXentForwardRows, new Dim3((uint)n), F32(logits), I32(labels), F32(probabilities), rowLoss.Pointer, n, k, (float)smoothing);
        Launch(CudaKernels.SoftmaxXentForwardMean, new Dim3(1), rowLoss.Pointer, F32(loss), n);
    }

    /// <summary>dlogits += dloss·(p − t)/N.</summary>
    public void SoftmaxCrossEntropyBackward(Tensor probabilities, Tensor labels, Tensor dloss, Tensor dlogits, double smoothing)
    {
        Enter();
        var (n, k) = CheckLoss(probabilities, labels, dlogits, dloss);
        if (probabilities.Count == 0) return;
        Launch(CudaKernels.SoftmaxXentBackward, new Dim3(GemmTiles.StrideGrid(probabilities.Count, BlockThreads, 65535)),
            F32(probabilities), I32(labels), F32(dloss), F32(dlogits), n, k, (float)smoothing, AccumulateFlag(dlogits));
    }
}
