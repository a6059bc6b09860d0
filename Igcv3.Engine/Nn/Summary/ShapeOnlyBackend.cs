namespace Igcv3.Engine.Nn;

/// <summary>
/// A backend that holds no data and computes nothing: running a network's forward on it runs
/// only the op front-ends, which check every shape and allocate every output. That is exact
/// shape inference for free, at any resolution, with the same code paths as training.
/// </summary>
internal sealed class ShapeOnlyBackend : IBackend
{
    public static ShapeOnlyBackend Instance { get; } = new();

    public string Name => "shape-only";

    public Storage Allocate(DType dtype, long length) => new ShapeOnlyStorage(this, dtype, length);

    public void Upload<T>(ReadOnlySpan<T> source, Tensor destination) where T : unmanaged { }

    public void Download<T>(Tensor source, Span<T> destination) where T : unmanaged =>
        throw new InvalidOperationException("a shape-only tensor has no values to read");

    public void Fill(Tensor tensor, double value) { }

    public void Copy(Tensor source, Tensor destination) { }

    public void Synchronize() { }

    public void Add(Tensor a, Tensor b, Tensor y) { }

    public void Accumulate(Tensor source, Tensor destination) { }

    public void ActivationForward(Activation activation, Tensor x, Tensor y) { }

    public void ActivationBackward(Activation activation, Tensor y, Tensor dy, Tensor dx) { }

    public void Conv2dForward(Tensor x, Tensor w, Tensor y, Conv2dSpec spec) { }

    public void Conv2dBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, Conv2dSpec spec) { }

    public void PointwiseForward(Tensor x, Tensor w, Tensor y, PointwiseSpec spec, BatchStatistics? statistics = null) { }

    public void PointwiseBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, PointwiseSpec spec) { }

    public void ChannelShuffleForward(Tensor x, Tensor y, int groups) { }

    public void ChannelShuffleBackward(Tensor dy, Tensor dx, int groups) { }

    public void DepthwiseForward(Tensor x, Tensor w, Tensor y, int stride, BatchStatistics? statistics = null) { }

    public void DepthwiseBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, int stride) { }

    public void BatchNormForward(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        Tensor y, Tensor saveMean, Tensor saveInvStd, BatchNormSpec spec) { }

    public void BatchNormApply(Tensor x, Tensor gamma, Tensor beta, Tensor mean, Tensor invStd, Tensor y, Activation activation, Tensor? residual = null) { }

    public void BatchNormBackward(Tensor x, Tensor gamma, Tensor beta, Tensor saveMean, Tensor saveInvStd, Tensor dy,
        Tensor? dx, Tensor? dgamma, Tensor? dbeta, BatchNormSpec spec) { }

    public void GlobalAvgPoolForward(Tensor x, Tensor y) { }

    public void GlobalAvgPoolBackward(Tensor dy, Tensor dx) { }

    public void MaxPoolForward(Tensor x, Tensor y, PoolSpec spec) { }

    public void MaxPoolBackward(Tensor x, Tensor dy, Tensor dx, PoolSpec spec) { }

    public void LinearForward(Tensor x, Tensor w, Tensor? b, Tensor y) { }

    public void LinearBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, Tensor? db) { }

    public void SoftmaxCrossEntropyForward(Tensor logits, Tensor labels, Tensor probabilities, Tensor loss, double smoothing) { }

    public void SoftmaxCrossEntropyBackward(Tensor probabilities, Tensor labels, Tensor dloss, Tensor dlogits, double smoothing) { }

    public void SgdStep(Tensor parameters, Tensor gradients, Tensor momentum, SgdSpec spec) { }

    private sealed class ShapeOnlyStorage(IBackend backend, DType dtype, long length) : Storage(backend, dtype, length)
    {
        protected override void Release() { }
    }
}
