using Igcv3.Bench.Modes;
using Igcv3.Networks;
using Xunit;

namespace Igcv3.Tests.Bench;

/// <summary>cpu-memory's figures: the live tensor bytes at the peak hold at least the parameters,
/// their gradients and momentum, and the pool at least those.</summary>
public class CpuMemoryTests
{
    [Fact]
    public void Figures_AreConsistent()
    {
        var log = new StringWriter();
        var result = CpuMemory.Run("igcv3-d", batch: 2, evalBatch: 4, steps: 2, log);
        long parameterBytes = 4 * NetworkRegistry.Create("igcv3-d", new NetworkOptions { Classes = 10 }).ParameterCount();
        Assert.True(result.LiveBytesAtPeak > 3 * parameterBytes, log.ToString());
        Assert.True(result.PoolBytes >= result.LiveBytesAtPeak, log.ToString());
        Assert.True(result.PeakResidentBytes > result.RuntimeBytes, log.ToString());
        Assert.Contains("igcv3-d, batch 2, eval batch 4, 2 steps: live tensors at the peak", log.ToString());
    }
}
