namespace Igcv3.Engine.Cpu;

public sealed partial class CpuBackend
{
    public void Conv2dForward(Tensor x, Tensor w, Tensor y, Conv2dSpec spec) => throw new NotImplementedException();

    public void Conv2dBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, Conv2dSpec spec) => throw new NotImplementedException();
}
