namespace Igcv3.Engine.Cpu;

public sealed partial class CpuBackend
{
    public void SgdStep(Tensor parameters, Tensor gradients, Tensor momentum, SgdSpec spec) => throw new NotImplementedException();
}
