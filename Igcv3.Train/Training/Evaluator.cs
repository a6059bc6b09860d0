using Igcv3.Engine;
using Igcv3.Networks;
using Igcv3.Train.Data;

namespace Igcv3.Train.Training;

/// <summary>Test loss (mean cross-entropy, no smoothing) and top-1 / top-5 accuracy in percent.</summary>
public sealed record EvalResult(double Loss, double Top1, double Top5, int Images);

/// <summary>
/// Evaluates a network on a loader's epoch 0 (no shuffle, no augmentation): eval mode (BN running
/// statistics), no autograd graph, each batch's temporaries released at the end of the batch.
/// The network is put back in training mode afterwards.
/// </summary>
public static class Evaluator
{
    public static EvalResult Run(Network network, IBackend backend, IBatchLoader loader, CancellationToken cancellation = default)
    {
        network.Eval();
        try
        {
            double lossSum = 0;
            long top1 = 0, top5 = 0, seen = 0;
            using (GradMode.NoGrad())
            {
                foreach (var batch in loader.Epoch(0))
                {
                    cancellation.ThrowIfCancellationRequested();
                    using (TensorScope.Begin())
                    {
                        int n = batch.Count;
                        var x = Tensor.FromArray(backend, batch.Images, network.InputShape(n)); // [N, R, R, 3]: 32 CIFAR, 224 ImageNet
                        var labels = Tensor.FromArray(backend, batch.Labels, [n]);             // [N]
                        var logits = network.Forward(x);                                        // [N, K]
                        lossSum += Ops.SoftmaxCrossEntropy(logits, labels).Item() * n;
                        var (t1, t5) = Accuracy.Count(logits.ToFloatArray(), batch.Labels, network.Classes);
                        top1 += t1;
                        top5 += t5;
                        seen += n;
                    }
                }
            }
            return new EvalResult(lossSum / seen, 100.0 * top1 / seen, 100.0 * top5 / seen, (int)seen);
        }
        finally
        {
            network.Train();
        }
    }
}
