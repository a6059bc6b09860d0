namespace Igcv3.Engine.Cpu;

public sealed partial class CpuBackend
{
    public void GlobalAvgPoolForward(Tensor x, Tensor y) => throw new NotImplementedException();

    public void GlobalAvgPoolBackward(Tensor dy, Tensor dx) => throw new NotImplementedException();

    public void MaxPoolForward(Tensor x, Tensor y, PoolSpec spec) => throw new NotImplementedException();

    public void MaxPoolBackward(Tensor x, Tensor dy, Tensor dx, PoolSpec spec) => throw new NotImplementedException();
}
