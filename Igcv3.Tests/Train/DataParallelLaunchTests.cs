using Igcv3.Train.Commands;
using Igcv3.Train.Settings;
using Igcv3.Train.Training;
using Xunit;

namespace Igcv3.Tests.Train;

/// <summary>Where the ranks of a run are, from the options and from the variables torchrun and Slurm scripts set.</summary>
public sealed class DataParallelLaunchTests
{
    private static DataParallelLaunch? From(RunSettings s, params (string Name, string Value)[] variables) =>
        DataParallelLaunch.From(s, name => variables.FirstOrDefault(v => v.Name == name).Value);

    [Fact]
    public void OneDevice_IsNoLaunch()
    {
        Assert.Null(From(new RunSettings()));
        Assert.Null(From(new RunSettings { CpuWorkers = 1 }));
        Assert.Null(From(new RunSettings { Gpus = "3" }));
        Assert.Equal("cuda:3", DataParallelLaunch.SingleGpuDevice(new RunSettings { Gpus = "3" }));
    }

    [Fact]
    public void EmulatedGpus_AreEmulatedDevicesOfThisProcess_AndCannotSpanMachines()
    {
        var launch = From(new RunSettings { Device = "emulated", Gpus = "0,1" })!;
        Assert.True(launch.Emulated);
        Assert.Equal((2, 0, "emulated", "emulated"), (launch.WorldSize, launch.FirstRank, launch.DeviceOf(0), launch.DeviceOf(1)));
        Assert.Contains("2 emulated CUDA devices", launch.Describe());
        Assert.Equal("cuda:1", From(new RunSettings { Gpus = "0,1" })!.DeviceOf(1));
        Assert.Null(From(new RunSettings { Device = "emulated", Gpus = "0" }));
        Assert.Equal("emulated", DataParallelLaunch.SingleGpuDevice(new RunSettings { Device = "emulated", Gpus = "0" }));
        Assert.Contains("cannot span --nodes", Assert.Throws<UsageException>(() => From(new RunSettings { Device = "emulated", Gpus = "0,1", Nodes = 2, NodeRank = 0 })).Message);
        Assert.Contains("cannot span --nodes or WORLD_SIZE", Assert.Throws<UsageException>(() => From(new RunSettings { Device = "emulated", Gpus = "0,1" }, ("WORLD_SIZE", "4"))).Message);
    }

    [Fact]
    public void GpusOfOneMachine_AreOneProcessHoldingEveryRank()
    {
        var launch = From(new RunSettings { Gpus = "0, 2,3" })!;
        Assert.Equal((3, 0, "0,2,3"), (launch.WorldSize, launch.FirstRank, string.Join(",", launch.Gpus)));
        Assert.True(launch.SingleProcess);
    }

    [Fact]
    public void Nodes_GiveEachMachineItsRanks_AndTheMasterFromTheEnvironment()
    {
        var launch = From(new RunSettings { Gpus = "0,1,2,3", Nodes = 2, NodeRank = 1 }, ("MASTER_ADDR", "node001"), ("MASTER_PORT", "29400"))!;
        Assert.Equal((8, 4, 4, "node001:29400"), (launch.WorldSize, launch.FirstRank, launch.LocalRanks, launch.MasterAddress));
        Assert.False(launch.SingleProcess);
        var byOption = From(new RunSettings { Gpus = "0,1", Nodes = 3, NodeRank = 2, MasterAddress = "10.0.0.1:1234" })!;
        Assert.Equal((6, 4, "10.0.0.1:1234"), (byOption.WorldSize, byOption.FirstRank, byOption.MasterAddress));
    }

    [Fact]
    public void TorchrunVariables_AreOneGpuPerProcess()
    {
        var launch = From(new RunSettings(), ("WORLD_SIZE", "16"), ("RANK", "9"), ("LOCAL_RANK", "1"), ("MASTER_ADDR", "head"))!;
        Assert.Equal((16, 9, "1", "head:29500"), (launch.WorldSize, launch.FirstRank, string.Join(",", launch.Gpus), launch.MasterAddress));
    }

    [Theory]
    [InlineData("--cpu-workers 2 and --gpus 0,1 both given", 2, "0,1", null, null, null)]
    [InlineData("--gpus 0,0: GPU 0 is listed twice", null, "0,0", null, null, null)]
    [InlineData("give this machine's --node-rank", null, "0,1", 2, null, "h:1")]
    [InlineData("--node-rank 2 is outside [0, 1]", null, "0,1", 2, 2, "h:1")]
    [InlineData("give node 0's rendezvous with --master-address", null, "0,1", 2, 0, null)]
    [InlineData("give the GPUs of each node with --gpus", null, null, 2, 0, "h:1")]
    [InlineData("--node-rank 1 without --nodes", null, "0,1", null, 1, null)]
    public void ImpossibleLaunches_AreRefusedWithTheReason(string fragment, int? workers, string? gpus, int? nodes, int? nodeRank, string? master)
    {
        var s = new RunSettings { CpuWorkers = workers, Gpus = gpus, Nodes = nodes, NodeRank = nodeRank, MasterAddress = master, Device = "auto" };
        Assert.Contains(fragment, Assert.Throws<UsageException>(() => From(s)).Message);
    }

    [Fact]
    public void TorchrunVariables_WithoutRank_OrWithSeveralGpus_AreRefused()
    {
        Assert.Contains("RANK is not", Assert.Throws<UsageException>(() => From(new RunSettings(), ("WORLD_SIZE", "2"), ("MASTER_ADDR", "h"))).Message);
        Assert.Contains("one process per GPU", Assert.Throws<UsageException>(() => From(new RunSettings { Gpus = "0,1" }, ("WORLD_SIZE", "2"), ("RANK", "0"), ("MASTER_ADDR", "h"))).Message);
        Assert.Contains("WORLD_SIZE=x is not an integer", Assert.Throws<UsageException>(() => From(new RunSettings(), ("WORLD_SIZE", "x"))).Message);
    }
}
