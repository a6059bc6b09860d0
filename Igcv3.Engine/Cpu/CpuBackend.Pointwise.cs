namespace Igcv3.Engine.Cpu;

public sealed partial class CpuBackend
{
    public void PointwiseForward(Tensor x, Tensor w, Tensor y, PointwiseSpec spec) => throw new NotImplementedException();

    public void PointwiseBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, PointwiseSpec spec) => throw new NotImplementedException();

    public void ChannelShuffleForward(Tensor x, Tensor y, int groups) => throw new NotImplementedException();

    public void ChannelShuffleBackward(Tensor dy, Tensor dx, int groups) => throw new NotImplementedException();
}
