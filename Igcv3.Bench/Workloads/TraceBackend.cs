using Igcv3.Engine;

namespace Igcv3.Bench.Workloads;

/// <summary>
/// A backend that holds no data and computes nothing, but writes down every call made to it
/// with the shapes of its tensors. Running a whole training step on it (forward, loss, backward,
/// SGD) yields the exact list of kernels that step launches, at the network's real shapes, from
/// the network's own code: no hand-written shape list can drift from the model.
/// </summary>
public sealed class TraceBackend : IBackend
{
    private readonly List<OpCall> _calls = [];

    public string Name => "trace";

    /// <summary>Every call so far, in order.</summary>
    public IReadOnlyList<OpCall> Calls => _calls;

    public void Clear() => _calls.Clear();

    public Storage Allocate(DType dtype, long length) => new TraceStorage(this, dtype, length);

    public void Upload<T>(ReadOnlySpan<T> source, Tensor destination) where T : unmanaged { }

    public void Download<T>(Tensor source, Span<T> destination) where T : unmanaged =>
        throw new InvalidOperationException("trace backend: a traced tensor has no values to read");

    /// <summary>A gradient argument: written only when it was unwritten (its first writer
    /// overwrites it, <see cref="Tensor.TakeUnwritten"/>), else read and written.</summary>
    private static Access Gradient(Tensor? g) => g is not null && g.TakeUnwritten() ? Access.Write : Access.ReadWrite;

    private void Record(string op, object? spec, long multiplyAdds, params (string Role, Tensor? Tensor, Access Access)[] args) =>
        _calls.Add(new OpCall(op,
            args.Where(a => a.Tensor is not null).Select(a => new TensorArg(a.Role, a.Tensor!.Shape, a.Tensor.DType, a.Access)).ToList(),
            spec, multiplyAdds));

    public void Fill(Tensor tensor, double value) => Record("fill", null, 0, ("y", tensor, Access.Write));

    public void Copy(Tensor source, Tensor destination) => Record("copy", null, 0, ("x", source, Access.Read), ("y", destination, Access.Write));

    public void Synchronize() { }

    public void Add(Tensor a, Tensor b, Tensor y) => Record("add", null, 0, ("a", a, Access.Read), ("b", b, Access.Read), ("y", y, Access.Write));

    public void Accumulate(Tensor source, Tensor destination) => Record("accumulate", null, 0, ("x", source, Access.Read), ("y", destination, Gradient(destination)));

    public void ActivationForward(Activation activation, Tensor x, Tensor y) =>
        Record("activation.forward", activation, 0, ("x", x, Access.Read), ("y", y, Access.Write));

    public void ActivationBackward(Activation activation, Tensor y, Tensor dy, Tensor dx) =>
        Record("activation.backward", activation, 0, ("y", y, Access.Read), ("dy", dy, Access.Read), ("dx", dx, Gradient(dx)));

    // Multiply-adds of a convolution: one product per output element per weight it reads.
    private static long ConvMacs(Tensor y, Tensor w) => y.Count * (w.Count / w.Shape[0]);

    public void Conv2dForward(Tensor x, Tensor w, Tensor y, Conv2dSpec spec) =>
        Record("conv2d.forward", spec, ConvMacs(y, w), ("x", x, Access.Read), ("w", w, Access.Read), ("y", y, Access.Write));

    public void Conv2dBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, Conv2dSpec spec) =>
        Record("conv2d.backward", spec, ConvMacs(dy, w) * ((dx is null ? 0 : 1) + (dw is null ? 0 : 1)),
            ("x", x, Access.Read), ("w", w, Access.Read), ("dy", dy, Access.Read), ("dx", dx, Gradient(dx)), ("dw", dw, Gradient(dw)));

    /// <summary>The trace records the convolution alone and computes no statistics, so a traced
    /// batch norm shows its own pass (a wrapped backend that computes them shows the apply only).</summary>
    public void PointwiseForward(Tensor x, Tensor w, Tensor y, PointwiseSpec spec, BatchStatistics? statistics = null) =>
        Record("pointwise.forward", spec, ConvMacs(y, w), ("x", x, Access.Read), ("w", w, Access.Read), ("y", y, Access.Write));

    public void PointwiseBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, PointwiseSpec spec) =>
        Record("pointwise.backward", spec, ConvMacs(dy, w) * ((dx is null ? 0 : 1) + (dw is null ? 0 : 1)),
            ("x", x, Access.Read), ("w", w, Access.Read), ("dy", dy, Access.Read), ("dx", dx, Gradient(dx)), ("dw", dw, Gradient(dw)));

    public void ChannelShuffleForward(Tensor x, Tensor y, int groups) =>
        Record("shuffle.forward", groups, 0, ("x", x, Access.Read), ("y", y, Access.Write));

    public void ChannelShuffleBackward(Tensor dy, Tensor dx, int groups) =>
        Record("shuffle.backward", groups, 0, ("dy", dy, Access.Read), ("dx", dx, Gradient(dx)));

    public void DepthwiseForward(Tensor x, Tensor w, Tensor y, int stride, BatchStatistics? statistics = null) =>
        Record("depthwise.forward", stride, y.Count * 9, ("x", x, Access.Read), ("w", w, Access.Read), ("y", y, Access.Write));

    public void DepthwiseBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, int stride) =>
        Record("depthwise.backward", stride, dy.Count * 9 * ((dx is null ? 0 : 1) + (dw is null ? 0 : 1)),
            ("x", x, Access.Read), ("w", w, Access.Read), ("dy", dy, Access.Read), ("dx", dx, Gradient(dx)), ("dw", dw, Gradient(dw)));

    public void BatchNormForward(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        Tensor y, Tensor saveMean, Tensor saveInvStd, BatchNormSpec spec) =>
        Record("batchnorm.forward", spec, 0, ("x", x, Access.Read), ("gamma", gamma, Access.Read), ("beta", beta, Access.Read),
            ("runningMean", runningMean, Access.ReadWrite), ("runningVar", runningVar, Access.ReadWrite),
            ("y", y, Access.Write), ("saveMean", saveMean, Access.Write), ("saveInvStd", saveInvStd, Access.Write));

    public void BatchNormApply(Tensor x, Tensor gamma, Tensor beta, Tensor mean, Tensor invStd, Tensor y, Activation activation, Tensor? residual = null) =>
        Record("batchnorm.apply", activation, 0, ("x", x, Access.Read), ("gamma", gamma, Access.Read), ("beta", beta, Access.Read),
            ("mean", mean, Access.Read), ("invStd", invStd, Access.Read), ("residual", residual, Access.Read), ("y", y, Access.Write));

    public void BatchNormBackward(Tensor x, Tensor gamma, Tensor beta, Tensor saveMean, Tensor saveInvStd, Tensor dy,
        Tensor? dx, Tensor? dgamma, Tensor? dbeta, BatchNormSpec spec) =>
        Record("batchnorm.backward", spec, 0, ("x", x, Access.Read), ("gamma", gamma, Access.Read), ("beta", beta, Access.Read),
            ("saveMean", saveMean, Access.Read), ("saveInvStd", saveInvStd, Access.Read), ("dy", dy, Access.Read),
            ("dx", dx, Gradient(dx)), ("dgamma", dgamma, Gradient(dgamma)), ("dbeta", dbeta, Gradient(dbeta)));

    public void GlobalAvgPoolForward(Tensor x, Tensor y) => Record("avgpool.forward", null, 0, ("x", x, Access.Read), ("y", y, Access.Write));

    public void GlobalAvgPoolBackward(Tensor dy, Tensor dx) => Record("avgpool.backward", null, 0, ("dy", dy, Access.Read), ("dx", dx, Gradient(dx)));

    public void MaxPoolForward(Tensor x, Tensor y, PoolSpec spec) => Record("maxpool.forward", spec, 0, ("x", x, Access.Read), ("y", y, Access.Write));

    public void MaxPoolBackward(Tensor x, Tensor dy, Tensor dx, PoolSpec spec) =>
        Record("maxpool.backward", spec, 0, ("x", x, Access.Read), ("dy", dy, Access.Read), ("dx", dx, Gradient(dx)));

    public void LinearForward(Tensor x, Tensor w, Tensor? b, Tensor y) =>
        Record("linear.forward", null, y.Count * x.Shape[-1], ("x", x, Access.Read), ("w", w, Access.Read), ("b", b, Access.Read), ("y", y, Access.Write));

    public void LinearBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, Tensor? db) =>
        Record("linear.backward", null, dy.Count * x.Shape[-1] * ((dx is null ? 0 : 1) + (dw is null ? 0 : 1)),
            ("x", x, Access.Read), ("w", w, Access.Read), ("dy", dy, Access.Read), ("dx", dx, Gradient(dx)), ("dw", dw, Gradient(dw)), ("db", db, Gradient(db)));

    public void SoftmaxCrossEntropyForward(Tensor logits, Tensor labels, Tensor probabilities, Tensor loss, double smoothing) =>
        Record("xent.forward", smoothing, 0, ("logits", logits, Access.Read), ("labels", labels, Access.Read),
            ("probabilities", probabilities, Access.Write), ("loss", loss, Access.Write));

    public void SoftmaxCrossEntropyBackward(Tensor probabilities, Tensor labels, Tensor dloss, Tensor dlogits, double smoothing) =>
        Record("xent.backward", smoothing, 0, ("probabilities", probabilities, Access.Read), ("labels", labels, Access.Read),
            ("dloss", dloss, Access.Read), ("dlogits", dlogits, Gradient(dlogits)));

    public void SgdStep(Tensor parameters, Tensor gradients, Tensor momentum, SgdSpec spec) =>
        Record("sgd", spec, 0, ("p", parameters, Access.ReadWrite), ("g", gradients, Access.Read), ("m", momentum, Access.ReadWrite));

    private sealed class TraceStorage(IBackend backend, DType dtype, long length) : Storage(backend, dtype, length)
    {
        protected override void Release() { }
    }
}
