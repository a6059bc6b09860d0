namespace Igcv3.Engine.Cpu;

public sealed partial class CpuBackend
{
    public void DepthwiseForward(Tensor x, Tensor w, Tensor y, int stride) => throw new NotImplementedException();

    public void DepthwiseBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, int stride) => throw new NotImplementedException();
}
