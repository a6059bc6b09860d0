using Igcv3.Engine;
using Igcv3.Engine.Nn;
using Igcv3.Networks;

namespace Igcv3.Bench.Workloads;

/// <summary>
/// One fp32 training step of a network on one backend, as the trainer runs it: zero the flat
/// gradient buffer, forward, softmax cross-entropy, backward, one SGD step (momentum 0.9, weight
/// decay 5e-4, the CIFAR recipe), with the step's temporaries released at its end. Built once,
/// run many times on the same batch (the data loader is not what is measured).
/// </summary>
public sealed class TrainingStep
{
    private readonly Tensor _x;     // [N, H, W, 3]
    private readonly Tensor _labels; // I32 [N]

    public TrainingStep(Workload workload, IBackend backend, int seed = 1)
    {
        Workload = workload;
        Network = workload.Create();
        Parameters = ParameterSet.Create(Network, backend, seed);
        Optimizer = new Sgd(Parameters, momentum: 0.9, weightDecay: 5e-4);
        var random = new Random(seed);
        _x = backend is TraceBackend ? Tensor.Zeros(backend, workload.InputShape) : Tensor.RandomNormal(backend, workload.InputShape, random);
        _labels = Tensor.FromArray(backend, Enumerable.Range(0, workload.Batch).Select(_ => random.Next(workload.Classes)).ToArray(), [workload.Batch]);
    }

    public Workload Workload { get; }

    public Network Network { get; }

    public ParameterSet Parameters { get; }

    public Sgd Optimizer { get; }

    public IBackend Backend => Parameters.Backend;

    /// <summary>Queues one step; returns without waiting for the device.</summary>
    public void Run()
    {
        Parameters.ZeroGrad();
        using (TensorScope.Begin())
        {
            var loss = Ops.SoftmaxCrossEntropy(Network.Forward(_x), _labels);
            loss.Backward();
        }
        Optimizer.Step(0.01);
    }

    /// <summary>Every backend call one training step of <paramref name="workload"/> makes, in order,
    /// from running the step on a <see cref="TraceBackend"/> (no data, no arithmetic).</summary>
    public static IReadOnlyList<OpCall> Trace(Workload workload)
    {
        var trace = new TraceBackend();
        var step = new TrainingStep(workload, trace);
        trace.Clear(); // initialisation copies are not part of a step
        step.Run();
        return trace.Calls.ToList();
    }
}
