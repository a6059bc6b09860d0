namespace Igcv3.Engine.Cpu;

public sealed partial class CpuBackend
{
    public void SoftmaxCrossEntropyForward(Tensor logits, Tensor labels, Tensor probabilities, Tensor loss, double smoothing) => throw new NotImplementedException();

    public void SoftmaxCrossEntropyBackward(Tensor probabilities, Tensor labels, Tensor dloss, Tensor dlogits, double smoothing) => throw new NotImplementedException();
}
