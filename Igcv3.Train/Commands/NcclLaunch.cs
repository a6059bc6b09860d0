using Igcv3.Engine;
using Igcv3.Engine.Distributed;
using Igcv3.Kernels.Cuda;
using Igcv3.Kernels.Distributed;
using Igcv3.Train.Training;

namespace Igcv3.Train.Commands;

/// <summary>
/// The NCCL side of --gpus / --nodes: checks that libnccl.so.2 is there (probed like NVRTC and
/// cuBLAS), gets the group's unique id (made here when this process holds rank 0, served to the
/// other nodes by the <see cref="Rendezvous"/>, or fetched from node 0's), and makes every local
/// worker's communicator on its own GPU before the workers start.
/// </summary>
internal static class NcclLaunch
{
    /// <summary>How long the rendezvous waits for the other nodes (a cluster's nodes may start minutes apart).</summary>
    public static readonly TimeSpan RendezvousTimeout = TimeSpan.FromMinutes(10);

    /// <summary>The communicators of this process's ranks, one per backend (its GPU), in local order.</summary>
    public static NcclCommunicator[] Create(CliEnvironment env, DataParallelLaunch launch, IReadOnlyList<IBackend> backends)
    {
        if (NcclCommunicator.Unavailable is { } reason)
            throw new DeviceException($"--gpus {string.Join(",", launch.Gpus)}: data-parallel training on GPUs needs NCCL ({reason}); install it (Debian/Ubuntu: libnccl2 from NVIDIA's repository, or pip install nvidia-nccl-cu12) or put its lib folder in CUDA_PATH, or train on one GPU (--gpus {launch.Gpus[0]})");
        return NcclCommunicator.CreateGroup([.. backends.Cast<CudaBackend>()], UniqueId(env, launch), launch.WorldSize, launch.FirstRank);
    }

    private static byte[] UniqueId(CliEnvironment env, DataParallelLaunch launch)
    {
        if (launch.SingleProcess) return NcclCommunicator.NewUniqueId();
        string master = launch.MasterAddress!;
        try
        {
            if (launch.FirstRank != 0) return Rendezvous.Join(master, launch.WorldSize, launch.FirstRank, launch.LocalRanks, RendezvousTimeout, env.Cancellation);
            var id = NcclCommunicator.NewUniqueId();
            env.Out.WriteLine($"Rendezvous: serving the NCCL id on port {Rendezvous.ParseAddress(master).Port} to the other {launch.WorldSize - launch.LocalRanks} ranks");
            Rendezvous.Serve(Rendezvous.ParseAddress(master).Port, launch.WorldSize, launch.LocalRanks, id, RendezvousTimeout, cancellation: env.Cancellation);
            return id;
        }
        catch (Exception e) when (e is TimeoutException or ArgumentException or InvalidOperationException or InvalidDataException or System.Net.Sockets.SocketException)
        {
            throw new DeviceException(e.Message, e);
        }
    }
}
