using System.Globalization;
using Igcv3.Train.Commands;
using Igcv3.Train.Settings;

namespace Igcv3.Train.Training;

/// <summary>
/// Where the workers of a data-parallel run are: how many ranks in all (the world), which of them
/// this process runs (one thread each, on the listed GPUs or on the CPU), and, over several
/// machines, where node 0's rendezvous is. Read from --gpus / --cpu-workers / --nodes / --node-rank /
/// --master-address, or from the variables torchrun and Slurm scripts set (WORLD_SIZE, RANK,
/// LOCAL_RANK, MASTER_ADDR, MASTER_PORT) for one process per GPU. With --device emulated, --gpus
/// lists emulated devices: one CUDA backend each, joined by the in-process communicator on their
/// communication streams (the GPU path without a GPU or NCCL, for checking it).
/// </summary>
public sealed record DataParallelLaunch(int WorldSize, int FirstRank, IReadOnlyList<int> Gpus, int CpuWorkers, string? MasterAddress, bool Emulated = false)
{
    /// <summary>The ranks this process runs: one per GPU, or the CPU workers.</summary>
    public int LocalRanks => Gpus.Count > 0 ? Gpus.Count : CpuWorkers;

    public bool OnCpu => Gpus.Count == 0;

    /// <summary>--device for local worker <paramref name="i"/>.</summary>
    public string DeviceOf(int i) => OnCpu ? "cpu" : Emulated ? "emulated" : $"cuda:{Gpus[i]}";

    /// <summary>This process holds every rank: the NCCL id needs no rendezvous.</summary>
    public bool SingleProcess => LocalRanks == WorldSize;

    public string Describe() => OnCpu
        ? $"{CpuWorkers} data-parallel workers on the CPU (threads)"
        : Emulated
            ? $"{Gpus.Count} emulated CUDA devices, one worker thread each, the in-process communicator on their communication streams"
        : SingleProcess
            ? $"{Gpus.Count} GPUs (cuda:{string.Join(",", Gpus)}), one worker thread each, NCCL"
            : $"ranks {FirstRank}..{FirstRank + LocalRanks - 1} of {WorldSize} on GPUs {string.Join(",", Gpus)} of this machine, NCCL, rendezvous at {MasterAddress}";

    /// <summary>The launch the settings ask for; null for a run on one device (the plain trainer).</summary>
    public static DataParallelLaunch? From(RunSettings s, Func<string, string?> environment)
    {
        if (s.CpuWorkers is not null && s.Gpus is not null)
            throw new UsageException($"--cpu-workers {s.CpuWorkers} and --gpus {s.Gpus} both given: --cpu-workers runs data-parallel workers on the CPU, --gpus on GPUs; give one");
        if (s.CpuWorkers is { } workers)
        {
            if (workers <= 0) throw new UsageException($"--cpu-workers must be positive, got {workers}");
            if (!s.Device.Equals("cpu", StringComparison.OrdinalIgnoreCase) && !s.Device.Equals("auto", StringComparison.OrdinalIgnoreCase))
                throw new UsageException($"--cpu-workers runs on the CPU backend, but --device is {s.Device}; for GPUs use --gpus 0,1,...");
            if (s.Nodes is > 1) throw new UsageException("--cpu-workers (CPU workers, threads of one process) cannot span --nodes; use --gpus on each node");
            return workers == 1 ? null : new DataParallelLaunch(workers, 0, [], workers, null);
        }

        var gpus = s.Gpus is null ? null : ParseGpus(s.Gpus);
        if (gpus is not null && s.Device.Trim().Equals("emulated", StringComparison.OrdinalIgnoreCase))
        {
            if (s.Nodes is > 1 || IntFromEnvironment(environment, "WORLD_SIZE") is > 1)
                throw new UsageException("--device emulated --gpus runs every rank in this process: it cannot span --nodes or WORLD_SIZE processes");
            return gpus.Count > 1 ? new DataParallelLaunch(gpus.Count, 0, gpus, 0, null, Emulated: true) : null;
        }
        if (gpus is not null && !(s.Device.Equals("auto", StringComparison.OrdinalIgnoreCase) || s.Device.StartsWith("cuda", StringComparison.OrdinalIgnoreCase)))
            throw new UsageException($"--gpus {s.Gpus} trains on GPUs, but --device is {s.Device}; leave --device out (or use --cpu-workers N for CPU workers, --device emulated for emulated GPUs)");
        string? master = s.MasterAddress ?? MasterFromEnvironment(environment);

        int nodes = s.Nodes ?? 1;
        if (nodes <= 0) throw new UsageException($"--nodes must be positive, got {nodes}");
        if (nodes > 1)
        {
            int node = s.NodeRank ?? IntFromEnvironment(environment, "NODE_RANK")
                ?? throw new UsageException($"--nodes {nodes}: give this machine's --node-rank (0 to {nodes - 1}), or set NODE_RANK");
            if (node < 0 || node >= nodes) throw new UsageException($"--node-rank {node} is outside [0, {nodes - 1}] for --nodes {nodes}");
            var local = gpus ?? throw new UsageException($"--nodes {nodes}: give the GPUs of each node with --gpus, e.g. --gpus 0,1,2,3,4,5,6,7");
            return new DataParallelLaunch(nodes * local.Count, node * local.Count, local, 0,
                RequireMaster(master, $"--nodes {nodes}"));
        }
        if (s.NodeRank is { } alone && alone != 0) throw new UsageException($"--node-rank {alone} without --nodes: give --nodes too (the number of machines)");

        // torchrun / srun with one process per GPU: WORLD_SIZE, RANK and LOCAL_RANK.
        if (IntFromEnvironment(environment, "WORLD_SIZE") is { } world && world > 1)
        {
            int rank = IntFromEnvironment(environment, "RANK") ?? throw new UsageException($"WORLD_SIZE={world} is set but RANK is not: set both (and LOCAL_RANK), as torchrun does");
            if (rank < 0 || rank >= world) throw new UsageException($"RANK={rank} is outside [0, {world - 1}] for WORLD_SIZE={world}");
            int localRank = IntFromEnvironment(environment, "LOCAL_RANK") ?? 0;
            var gpu = gpus ?? [localRank];
            if (gpu.Count != 1) throw new UsageException($"WORLD_SIZE={world}: one process per GPU, so --gpus takes one GPU here (or leave it out to use LOCAL_RANK={localRank}), got {s.Gpus}");
            return new DataParallelLaunch(world, rank, gpu, 0, RequireMaster(master, $"WORLD_SIZE={world}"));
        }
        return gpus is { Count: > 1 } ? new DataParallelLaunch(gpus.Count, 0, gpus, 0, master) : null;
    }

    /// <summary>--gpus with a single GPU is a run on that GPU (the plain trainer).</summary>
    public static string? SingleGpuDevice(RunSettings s) => s.Gpus is { } g && ParseGpus(g) is [int only]
        ? s.Device.Trim().Equals("emulated", StringComparison.OrdinalIgnoreCase) ? "emulated" : $"cuda:{only}"
        : null;

    private static List<int> ParseGpus(string text)
    {
        var gpus = new List<int>();
        foreach (string part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int gpu))
                throw new UsageException($"--gpus {text}: '{part}' is not a GPU number; give a comma-separated list such as 0,1,2,3");
            if (gpus.Contains(gpu)) throw new UsageException($"--gpus {text}: GPU {gpu} is listed twice; each GPU runs one worker");
            gpus.Add(gpu);
        }
        if (gpus.Count == 0) throw new UsageException($"--gpus '{text}' lists no GPU; give a comma-separated list such as 0,1,2,3");
        return gpus;
    }

    private static string? MasterFromEnvironment(Func<string, string?> environment) =>
        environment("MASTER_ADDR") is { Length: > 0 } host ? $"{host}:{environment("MASTER_PORT") ?? "29500"}" : null;

    private static string RequireMaster(string? master, string what) => master
        ?? throw new UsageException($"{what}: give node 0's rendezvous with --master-address host:port, or set MASTER_ADDR (and MASTER_PORT, default 29500)");

    private static int? IntFromEnvironment(Func<string, string?> environment, string name)
    {
        string? text = environment(name);
        if (string.IsNullOrWhiteSpace(text)) return null;
        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value)
            ? value : throw new UsageException($"the environment variable {name}={text} is not an integer");
    }
}
