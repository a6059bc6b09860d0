using System.Diagnostics;
using Igcv3.Engine;
using Igcv3.Engine.Cpu;

namespace Igcv3.Bench.Workloads;

/// <summary>
/// A decorator around the CPU backend that times every call it forwards: the host clock around
/// the inner call (CPU kernels are synchronous). Each call is also written down by a
/// <see cref="TraceBackend"/> (op, shapes, multiply-adds), so a profile can say per op what it
/// cost and at what rate. Storage is allocated with this backend as its owner, so that the ops
/// above route every call of a tensor made here back through the decorator.
/// </summary>
public sealed class TimingBackend(CpuBackend inner) : IBackend
{
    private readonly TraceBackend _trace = new();
    private readonly List<double> _ms = [];

    public string Name => "timed " + inner.Name;

    /// <summary>Every call so far with its milliseconds, in order.</summary>
    public IEnumerable<(OpCall Call, double Ms)> Calls => _trace.Calls.Zip(_ms);

    public void Clear()
    {
        _trace.Clear();
        _ms.Clear();
    }

    private void Timed(Action trace, Action run)
    {
        trace();
        long start = Stopwatch.GetTimestamp();
        run();
        _ms.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }

    public Storage Allocate(DType dtype, long length) => dtype switch
    {
        DType.F32 => new CpuStorage<float>(this, dtype, length),
        DType.F64 => new CpuStorage<double>(this, dtype, length),
        DType.I32 => new CpuStorage<int>(this, dtype, length),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    public void Upload<T>(ReadOnlySpan<T> source, Tensor destination) where T : unmanaged => inner.Upload(source, destination);

    public void Download<T>(Tensor source, Span<T> destination) where T : unmanaged => inner.Download(source, destination);

    public void Fill(Tensor tensor, double value) => Timed(() => _trace.Fill(tensor, value), () => inner.Fill(tensor, value));

    public void Copy(Tensor source, Tensor destination) => Timed(() => _trace.Copy(source, destination), () => inner.Copy(source, destination));

    public void Synchronize() => inner.Synchronize();

    public void Add(Tensor a, Tensor b, Tensor y) => Timed(() => _trace.Add(a, b, y), () => inner.Add(a, b, y));

    public void Accumulate(Tensor source, Tensor destination) =>
        Timed(() => _trace.Accumulate(source, destination), () => inner.Accumulate(source, destination));

    public void ActivationForward(Activation activation, Tensor x, Tensor y) =>
        Timed(() => _trace.ActivationForward(activation, x, y), () => inner.ActivationForward(activation, x, y));

    public void ActivationBackward(Activation activation, Tensor y, Tensor dy, Tensor dx) =>
        Timed(() => _trace.ActivationBackward(activation, y, dy, dx), () => inner.ActivationBackward(activation, y, dy, dx));

    public void Conv2dForward(Tensor x, Tensor w, Tensor y, Conv2dSpec spec) =>
        Timed(() => _trace.Conv2dForward(x, w, y, spec), () => inner.Conv2dForward(x, w, y, spec));

    public void Conv2dBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, Conv2dSpec spec) =>
        Timed(() => _trace.Conv2dBackward(x, w, dy, dx, dw, spec), () => inner.Conv2dBackward(x, w, dy, dx, dw, spec));

    public void PointwiseForward(Tensor x, Tensor w, Tensor y, PointwiseSpec spec, BatchStatistics? statistics = null) =>
        Timed(() => _trace.PointwiseForward(x, w, y, spec, statistics), () => inner.PointwiseForward(x, w, y, spec, statistics));

    public void PointwiseBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, PointwiseSpec spec) =>
        Timed(() => _trace.PointwiseBackward(x, w, dy, dx, dw, spec), () => inner.PointwiseBackward(x, w, dy, dx, dw, spec));

    public void ChannelShuffleForward(Tensor x, Tensor y, int groups) =>
        Timed(() => _trace.ChannelShuffleForward(x, y, groups), () => inner.ChannelShuffleForward(x, y, groups));

    public void ChannelShuffleBackward(Tensor dy, Tensor dx, int groups) =>
        Timed(() => _trace.ChannelShuffleBackward(dy, dx, groups), () => inner.ChannelShuffleBackward(dy, dx, groups));

    public void DepthwiseForward(Tensor x, Tensor w, Tensor y, int stride, BatchStatistics? statistics = null) =>
        Timed(() => _trace.DepthwiseForward(x, w, y, stride, statistics), () => inner.DepthwiseForward(x, w, y, stride, statistics));

    public void DepthwiseBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, int stride) =>
        Timed(() => _trace.DepthwiseBackward(x, w, dy, dx, dw, stride), () => inner.DepthwiseBackward(x, w, dy, dx, dw, stride));

    public void BatchNormForward(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        Tensor y, Tensor saveMean, Tensor saveInvStd, BatchNormSpec spec) =>
        Timed(() => _trace.BatchNormForward(x, gamma, beta, runningMean, runningVar, y, saveMean, saveInvStd, spec),
            () => inner.BatchNormForward(x, gamma, beta, runningMean, runningVar, y, saveMean, saveInvStd, spec));

    public void BatchNormApply(Tensor x, Tensor gamma, Tensor beta, Tensor mean, Tensor invStd, Tensor y, Activation activation, Tensor? residual = null) =>
        Timed(() => _trace.BatchNormApply(x, gamma, beta, mean, invStd, y, activation, residual), () => inner.BatchNormApply(x, gamma, beta, mean, invStd, y, activation, residual));

    public void BatchNormBackward(Tensor x, Tensor gamma, Tensor beta, Tensor saveMean, Tensor saveInvStd, Tensor dy,
        Tensor? dx, Tensor? dgamma, Tensor? dbeta, BatchNormSpec spec) =>
        Timed(() => _trace.BatchNormBackward(x, gamma, beta, saveMean, saveInvStd, dy, dx, dgamma, dbeta, spec),
            () => inner.BatchNormBackward(x, gamma, beta, saveMean, saveInvStd, dy, dx, dgamma, dbeta, spec));

    public void GlobalAvgPoolForward(Tensor x, Tensor y) => Timed(() => _trace.GlobalAvgPoolForward(x, y), () => inner.GlobalAvgPoolForward(x, y));

    public void GlobalAvgPoolBackward(Tensor dy, Tensor dx) => Timed(() => _trace.GlobalAvgPoolBackward(dy, dx), () => inner.GlobalAvgPoolBackward(dy, dx));

    public void MaxPoolForward(Tensor x, Tensor y, PoolSpec spec) => Timed(() => _trace.MaxPoolForward(x, y, spec), () => inner.MaxPoolForward(x, y, spec));

    public void MaxPoolBackward(Tensor x, Tensor dy, Tensor dx, PoolSpec spec) =>
        Timed(() => _trace.MaxPoolBackward(x, dy, dx, spec), () => inner.MaxPoolBackward(x, dy, dx, spec));

    public void LinearForward(Tensor x, Tensor w, Tensor? b, Tensor y) =>
        Timed(() => _trace.LinearForward(x, w, b, y), () => inner.LinearForward(x, w, b, y));

    public void LinearBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, Tensor? db) =>
        Timed(() => _trace.LinearBackward(x, w, dy, dx, dw, db), () => inner.LinearBackward(x, w, dy, dx, dw, db));

    public void SoftmaxCrossEntropyForward(Tensor logits, Tensor labels, Tensor probabilities, Tensor loss, double smoothing) =>
        Timed(() => _trace.SoftmaxCrossEntropyForward(logits, labels, probabilities, loss, smoothing),
            () => inner.SoftmaxCrossEntropyForward(logits, labels, probabilities, loss, smoothing));

    public void SoftmaxCrossEntropyBackward(Tensor probabilities, Tensor labels, Tensor dloss, Tensor dlogits, double smoothing) =>
        Timed(() => _trace.SoftmaxCrossEntropyBackward(probabilities, labels, dloss, dlogits, smoothing),
            () => inner.SoftmaxCrossEntropyBackward(probabilities, labels, dloss, dlogits, smoothing));

    public void SgdStep(Tensor parameters, Tensor gradients, Tensor momentum, SgdSpec spec) =>
        Timed(() => _trace.SgdStep(parameters, gradients, momentum, spec), () => inner.SgdStep(parameters, gradients, momentum, spec));
}
