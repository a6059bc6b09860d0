namespace Igcv3.Engine;

public static partial class Ops
{
    /// <summary>Mean softmax cross-entropy with label smoothing ε: loss = (1/N)·Σ_n Σ_k −t[n, k]·log
    /// softmax(logits[n])[k], t = (1 − ε)·onehot(labels[n]) + ε/K. logits [N, K], labels I32 [N] on
    /// the same backend → a scalar []. Labels outside [0, K) are rejected by the backend, which is
    /// where their values live.</summary>
    public static Tensor SoftmaxCrossEntropy(Tensor logits, Tensor labels, double labelSmoothing = 0)
    {
        const string op = "softmax_cross_entropy";
        Check.SameDeviceAndType(op, ("logits", logits));
        Check.Rank(op, "logits", logits, 2, "[N, K]");
        if (labels.DType != DType.I32) throw Check.Fail(op, $"labels must be I32 class indices, got {labels.DType}");
        if (labels.Backend != logits.Backend)
        {
            throw Check.Fail(op, $"labels are on {labels.Backend.Name} but logits are on {logits.Backend.Name}; move them to one device");
        }
        int n = logits.Shape[0], classes = logits.Shape[1];
        if (n == 0) throw Check.Fail(op, $"logits {logits.Shape} hold no rows: the mean over the batch is undefined");
        Check.Positive(op, $"the class count (logits {logits.Shape})", classes);
        Check.Shape(op, "labels", labels, [n], $"one per row of logits {logits.Shape}");
        if (!(labelSmoothing >= 0 && labelSmoothing < 1)) throw Check.Fail(op, $"label smoothing must lie in [0, 1), got {labelSmoothing}");

        var probabilities = Tensor.Empty(logits.Backend, logits.Shape, logits.DType); // kept for backward
        var loss = Tensor.Empty(logits.Backend, Shape.Scalar, logits.DType);
        logits.Backend.SoftmaxCrossEntropyForward(logits, labels, probabilities, loss, labelSmoothing);
        return Autograd.Record(loss, op, [logits], dloss =>
            logits.Backend.SoftmaxCrossEntropyBackward(probabilities, labels, dloss, logits.GradForWriting(), labelSmoothing));
    }
}
