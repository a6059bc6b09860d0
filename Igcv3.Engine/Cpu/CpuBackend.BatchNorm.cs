namespace Igcv3.Engine.Cpu;

public sealed partial class CpuBackend
{
    public void BatchNormForward(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        Tensor y, Tensor saveMean, Tensor saveInvStd, BatchNormSpec spec) => throw new NotImplementedException();

    public void BatchNormBackward(Tensor x, Tensor y, Tensor gamma, Tensor saveMean, Tensor saveInvStd, Tensor dy,
        Tensor? dx, Tensor? dgamma, Tensor? dbeta, BatchNormSpec spec) => throw new NotImplementedException();
}
