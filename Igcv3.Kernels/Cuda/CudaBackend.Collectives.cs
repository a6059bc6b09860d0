using Igcv3.Engine;

namespace Igcv3.Kernels.Cuda;

public sealed partial class CudaBackend
{
    /// <summary>Runs <paramref name="queue"/> (an NCCL call) with this backend's context current,
    /// given the device address of <paramref name="tensor"/> and the stream all its work is queued
    /// on, so the collective is ordered after the kernels that wrote the tensor.</summary>
    internal void Collective(Tensor tensor, Action<ulong, CudaStreamHandle> queue)
    {
        Enter();
        queue(Address(tensor), Stream);
    }

    /// <summary>Runs <paramref name="call"/> with this backend's context current (ncclCommInitRank binds the communicator to that device).</summary>
    internal void InContext(Action call)
    {
        Enter();
        call();
    }
}
