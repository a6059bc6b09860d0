using Igcv3.Engine;
using Igcv3.Engine.Nn;
using Igcv3.Kernels.Cuda;
using Igcv3.Networks;

namespace Igcv3.Train.Training;

/// <summary>
/// The trainer's step: forward, loss, zero-grad, backward and the SGD update at the schedule's
/// rate, queued on the backend, eagerly or as one CUDA graph launch.
/// <para>With <c>cudaGraph</c> on a CUDA backend the first step runs eagerly: it makes Auto's 1x1
/// choices (timed, so not capturable) and fills the allocator's cache with every block a step
/// needs (it reads its batch from the fixed input tensors the graph will read, allocated first,
/// so that the blocks it releases are exactly those the capture asks for: a capture cannot
/// allocate from the driver). The second step is captured once (<see cref="CudaBackend.Capture"/>),
/// reading the batch and the rate from the fixed tensors and leaving the loss and logits in fixed
/// ones; from then
/// on a step uploads the batch and the rate into the fixed inputs, replays the graph, and copies
/// the fixed outputs into tensors of its own, so that the trainer may queue several steps before
/// it reads them. Where the capture is not possible, one line says why and every step stays eager.
/// A replay computes bit for bit what the eager step computes: the same kernels, grids and
/// arguments, the rate's float read from memory instead of passed.</para>
/// </summary>
/// <param name="backward">How the loss is backpropagated: loss.Backward() by default; a data-parallel
/// rank's bucketed backward, which starts each bucket's all-reduce on the communication stream as it
/// completes and joins them before the update: stream work, so a data-parallel step is captured too.</param>
public sealed class StepRunner(IBackend backend, Network network, ParameterSet parameters, Sgd optimizer, double labelSmoothing, bool cudaGraph, Action<string> say,
    Action<Tensor>? backward = null) : IDisposable
{
    private readonly CudaBackend? _cuda = cudaGraph ? backend as CudaBackend : null;
    private int _eagerSteps;
    private bool _captureFailed;
    private Inputs? _inputs;
    private Captured? _captured;

    /// <summary>The fixed inputs of the graph, allocated before the first step and so outside the
    /// capture: they are written between replays, so they must not be the graph's own blocks.</summary>
    private sealed record Inputs(Tensor Images, Tensor Labels, Tensor Rate) : IDisposable
    {
        public static Inputs Allocate(IBackend backend, Network network, int n) =>
            new(Tensor.Empty(backend, network.InputShape(n)), Tensor.Empty(backend, [n], DType.I32), Tensor.Empty(backend, [1]));

        public bool Fit(int n) => Labels.Count == n;

        public void Upload(IBackend backend, float[] images, int[] labels, double lr)
        {
            backend.Upload<float>(images, Images);
            backend.Upload<int>(labels, Labels);
            backend.Upload<float>([(float)lr], Rate);
        }

        public void Dispose()
        {
            foreach (var t in new[] { Images, Labels, Rate }) t.Storage.Dispose();
        }
    }

    /// <summary>The graph and its fixed outputs, allocated inside the capture: they stay where
    /// the capture put them, and hold each replay's loss and logits until the next.</summary>
    private sealed record Captured(CapturedWork Graph, Tensor Loss, Tensor Logits) : IDisposable
    {
        public void Dispose()
        {
            Graph.Dispose();
            Loss.Storage.Dispose();
            Logits.Storage.Dispose();
        }
    }

    /// <summary>Whether the next step will be captured. Before it, the trainer reads the steps it
    /// still holds: their loss and logits then go back to the cache, which must serve every block
    /// of the captured step (a capture cannot allocate from the driver).</summary>
    public bool CapturesNext => _cuda is not null && _captured is null && !_captureFailed && _eagerSteps > 0;

    /// <summary>Whether steps are graph replays.</summary>
    public bool Replaying => _captured is not null;

    /// <summary>Queues one step on <paramref name="images"/> [N, H, W, 3] and <paramref name="labels"/> [N];
    /// returns its mean loss [] and logits [N, K], which outlive any tensor scope until disposed.</summary>
    public (Tensor Loss, Tensor Logits) Step(float[] images, int[] labels, double lr)
    {
        if (_cuda is not null && _inputs is null && !_captureFailed) _inputs = Inputs.Allocate(_cuda, network, labels.Length);
        if (CapturesNext) TryCapture(_inputs!);
        // A batch of another size than the fixed inputs' would not fit the graph (the loader
        // drops the last, partial batch, so this does not happen in training): it runs eagerly.
        bool fits = _inputs?.Fit(labels.Length) == true;
        if (_captured is { } graph && fits) return Replay(graph, _inputs!, images, labels, lr);
        _eagerSteps++;
        using var scope = TensorScope.Begin();
        Tensor x, y;
        if (fits && _captured is null)
        {
            _inputs!.Upload(backend, images, labels, lr);
            (x, y) = (_inputs.Images, _inputs.Labels);
        }
        else
        {
            x = Tensor.FromArray(backend, images, network.InputShape(labels.Length)); // [N, 32, 32, 3]
            y = Tensor.FromArray(backend, labels, [labels.Length]);                    // [N]
        }
        var (loss, logits) = Enqueue(x, y, () => optimizer.Step(lr));
        return (scope.Keep(loss), scope.Keep(logits));
    }

    /// <summary>The step itself, the one sequence both ways run.</summary>
    private (Tensor Loss, Tensor Logits) Enqueue(Tensor x, Tensor y, Action update)
    {
        var logits = network.Forward(x);                                   // [N, K]
        var loss = Ops.SoftmaxCrossEntropy(logits, y, labelSmoothing);     // []
        parameters.ZeroGrad();
        if (backward is null) loss.Backward();
        else backward(loss);
        update();
        return (loss, logits);
    }

    private void TryCapture(Inputs inputs)
    {
        Tensor? loss = null, logits = null;
        try
        {
            var graph = _cuda!.Capture(() =>
            {
                using var scope = TensorScope.Begin();
                var (l, z) = Enqueue(inputs.Images, inputs.Labels, () => optimizer.Step(inputs.Rate));
                (loss, logits) = (scope.Keep(l), scope.Keep(z));
            });
            _captured = new Captured(graph, loss!, logits!);
            say($"CUDA graph: the training step is captured ({graph.Blocks} device blocks kept for it); every step from this one on is one graph launch");
        }
        catch (StreamCaptureException e)
        {
            _captureFailed = true;
            foreach (var t in new[] { loss, logits }) t?.Storage.Dispose();
            _inputs!.Dispose();
            _inputs = null;
            say($"CUDA graph: the training step cannot be captured ({e.Message}); training goes on with eager steps (--cuda-graph off skips the attempt)");
        }
    }

    private (Tensor Loss, Tensor Logits) Replay(Captured graph, Inputs inputs, float[] images, int[] labels, double lr)
    {
        Sgd.CheckRate(lr);
        inputs.Upload(backend, images, labels, lr);
        graph.Graph.Replay();
        var loss = Tensor.Empty(backend, graph.Loss.Shape);
        var logits = Tensor.Empty(backend, graph.Logits.Shape);
        backend.Copy(graph.Loss, loss);
        backend.Copy(graph.Logits, logits);
        return (loss, logits);
    }

    public void Dispose()
    {
        _captured?.Dispose();
        _captured = null;
        _inputs?.Dispose();
        _inputs = null;
    }
}
