using Igcv3.Engine;
using Igcv3.Kernels;

namespace Igcv3.Train.Commands;

/// <summary>
/// The one place where the trainer learns how to build a CUDA backend. Null while the CUDA
/// backend is not part of the build: --device auto then runs on the CPU and --device cuda says so.
/// Once it lands: <c>public static Func&lt;CudaDevice, IBackend&gt;? Cuda =&gt; device =&gt; new CudaBackend(device);</c>
/// </summary>
public static class BackendFactories
{
    public static Func<CudaDevice, IBackend>? Cuda => null;
}
