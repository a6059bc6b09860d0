namespace Igcv3.Engine.Cpu;

public sealed partial class CpuBackend
{
    public void LinearForward(Tensor x, Tensor w, Tensor? b, Tensor y) => throw new NotImplementedException();

    public void LinearBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, Tensor? db) => throw new NotImplementedException();
}
