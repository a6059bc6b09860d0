namespace Igcv3.Engine;

/// <summary>
/// The compute contract that every backend (CPU reference, CUDA) implements. Ops above it
/// (<see cref="Ops"/>) validate shapes, allocate outputs and record autograd; a backend only
/// computes. Conventions, the same for every method:
/// <list type="bullet">
/// <item>Activations are NHWC [N, H, W, C]; all tensors are dense and already validated.</item>
/// <item>Forward methods overwrite their outputs.</item>
/// <item>Backward methods ACCUMULATE (+=) into every gradient they are given, and skip a gradient
/// passed as null (the op's input does not need it). Accumulation is what lets a tensor used
/// twice (a residual input) and a parameter view into the flat gradient buffer collect their
/// gradients without extra passes. The exception: a gradient that is <see cref="Tensor.IsUnwritten"/>
/// (autograd allocates activation gradients so) is OVERWRITTEN, whole, by the method that gets it
/// first (<see cref="Tensor.TakeUnwritten"/>), so that no pass zeroes it beforehand.</item>
/// </list>
/// </summary>
public interface IBackend
{
    /// <summary>Short name printed to users, for example "cpu" or "cuda:0 (NVIDIA H100)".</summary>
    string Name { get; }

    // ---- memory -------------------------------------------------------------------------

    /// <summary>Allocates <paramref name="length"/> zeroed elements.</summary>
    Storage Allocate(DType dtype, long length);

    /// <summary>Allocates <paramref name="length"/> elements of unspecified value: for a storage that
    /// is written whole straight away, the output of a forward method or an upload (zeroing it first
    /// would be a wasted pass over memory on a GPU). Backends whose memory comes zeroed anyway need
    /// not override this.</summary>
    Storage AllocateUninitialized(DType dtype, long length) => Allocate(dtype, length);

    void Upload<T>(ReadOnlySpan<T> source, Tensor destination) where T : unmanaged;

    void Download<T>(Tensor source, Span<T> destination) where T : unmanaged;

    /// <summary>Sets every element of <paramref name="tensor"/> to <paramref name="value"/>.</summary>
    void Fill(Tensor tensor, double value);

    /// <summary>Copies between two tensors of this backend with the same dtype and count.</summary>
    void Copy(Tensor source, Tensor destination);

    /// <summary>Waits until all queued work is done (no-op on the CPU).</summary>
    void Synchronize();

    // ---- elementwise ----------------------------------------------------------------------

    /// <summary>y = a + b (same shapes).</summary>
    void Add(Tensor a, Tensor b, Tensor y);

    /// <summary>destination += source (same counts): gradient accumulation.</summary>
    void Accumulate(Tensor source, Tensor destination);

    /// <summary>y = act(x).</summary>
    void ActivationForward(Activation activation, Tensor x, Tensor y);

    /// <summary>dx += dy · act'(x), with the derivative read off the OUTPUT y: ReLU passes where
    /// y &gt; 0, ReLU6 where 0 &lt; y &lt; 6 (the same sets as on x, without keeping x alive).</summary>
    void ActivationBackward(Activation activation, Tensor y, Tensor dy, Tensor dx);

    // ---- convolutions ---------------------------------------------------------------------

    /// <summary>General convolution (stem, IGCV1 group convs, dense baselines).
    /// x [N,H,W,Cin], w [Cout,K,K,Cin/g] → y [N,Ho,Wo,Cout].</summary>
    void Conv2dForward(Tensor x, Tensor w, Tensor y, Conv2dSpec spec);

    void Conv2dBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, Conv2dSpec spec);

    /// <summary>Grouped 1x1 convolution with fused permutations (see <see cref="PointwiseSpec"/>).
    /// x [N,H,W,Cin], w [Cout,Cin/g] → y [N,H,W,Cout]. When <paramref name="statistics"/> is given,
    /// the training batch statistics of y too, where the backend can compute them with y
    /// (<see cref="BatchStatistics.Computed"/> says whether it did).</summary>
    void PointwiseForward(Tensor x, Tensor w, Tensor y, PointwiseSpec spec, BatchStatistics? statistics = null);

    void PointwiseBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, PointwiseSpec spec);

    /// <summary>Explicit IGC permutation over the last axis: y[.., j*G+g] = x[.., g*(C/G)+j].
    /// The reference that the fused forms are tested against.</summary>
    void ChannelShuffleForward(Tensor x, Tensor y, int groups);

    /// <summary>dx += P⁻¹(dy).</summary>
    void ChannelShuffleBackward(Tensor dy, Tensor dx, int groups);

    /// <summary>Depthwise 3x3, pad 1, stride 1 or 2. x [N,H,W,C], w [C,3,3] → y [N,Ho,Wo,C].</summary>
    /// <param name="statistics">As for <see cref="PointwiseForward"/>: y's training batch statistics too, where the backend can.</param>
    void DepthwiseForward(Tensor x, Tensor w, Tensor y, int stride, BatchStatistics? statistics = null);

    void DepthwiseBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, int stride);

    // ---- normalisation --------------------------------------------------------------------

    /// <summary>Batch norm over all axes but the last, then the fused activation.
    /// x, y [.., C]; gamma, beta, runningMean, runningVar, saveMean, saveInvStd [C].
    /// Training: normalises with the batch statistics (biased variance), writes them to
    /// saveMean/saveInvStd and updates the running statistics. Eval: uses the running statistics
    /// (and writes them to saveMean/saveInvStd for the backward pass).</summary>
    void BatchNormForward(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        Tensor y, Tensor saveMean, Tensor saveInvStd, BatchNormSpec spec);

    /// <summary>y = act(γ·(x − mean)·invStd + β) with statistics already known (a producer's
    /// <see cref="BatchStatistics"/>): the second half of a training-mode forward; with
    /// <paramref name="residual"/>, a residual add fused: y = act(..) + residual, each term rounded
    /// as the two ops would round it. x, y, residual [.., C]; gamma, beta, mean, invStd [C].</summary>
    void BatchNormApply(Tensor x, Tensor gamma, Tensor beta, Tensor mean, Tensor invStd, Tensor y, Activation activation, Tensor? residual = null);

    /// <summary>Backward through the activation and the normalisation. The activation's mask is
    /// judged on y = γ·x̂ + β recomputed from x with the saved statistics, so the forward's output
    /// need not be kept for it nor read (a pass over memory fewer). In training mode the batch
    /// statistics depend on x, so dx has the full three-term form; in eval mode
    /// dx = dy·gamma·invStd.</summary>
    void BatchNormBackward(Tensor x, Tensor gamma, Tensor beta, Tensor saveMean, Tensor saveInvStd, Tensor dy,
        Tensor? dx, Tensor? dgamma, Tensor? dbeta, BatchNormSpec spec);

    // ---- pooling, linear, loss ----------------------------------------------------------

    /// <summary>x [N,H,W,C] → y [N,C], the mean over H·W.</summary>
    void GlobalAvgPoolForward(Tensor x, Tensor y);

    void GlobalAvgPoolBackward(Tensor dy, Tensor dx);

    /// <summary>x [N,H,W,C] → y [N,Ho,Wo,C]; padding counts as -∞. Backward routes each output's
    /// gradient to the first maximum of its window (recomputed from x, so nothing is saved).</summary>
    void MaxPoolForward(Tensor x, Tensor y, PoolSpec spec);

    void MaxPoolBackward(Tensor x, Tensor dy, Tensor dx, PoolSpec spec);

    /// <summary>y = x·wᵀ + b. x [N,In], w [Out,In], b [Out] (optional) → y [N,Out].</summary>
    void LinearForward(Tensor x, Tensor w, Tensor? b, Tensor y);

    void LinearBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, Tensor? db);

    /// <summary>Mean softmax cross-entropy with label smoothing ε: the target is
    /// (1-ε)·onehot + ε/K. logits [N,K], labels I32 [N] → probabilities [N,K] (kept for
    /// backward), loss scalar [].</summary>
    void SoftmaxCrossEntropyForward(Tensor logits, Tensor labels, Tensor probabilities, Tensor loss, double smoothing);

    /// <summary>dlogits += dloss · (probabilities − target) / N, dloss a scalar tensor.</summary>
    void SoftmaxCrossEntropyBackward(Tensor probabilities, Tensor labels, Tensor dloss, Tensor dlogits, double smoothing);

    // ---- optimizer ------------------------------------------------------------------------

    /// <summary>One SGD step over flat buffers of equal length (see <see cref="SgdSpec"/>).</summary>
    void SgdStep(Tensor parameters, Tensor gradients, Tensor momentum, SgdSpec spec);
}
