using Igcv3.Engine.Cpu;
using Igcv3.Engine.Nn;
using Igcv3.Networks;
using Igcv3.Tests.Support;
using Xunit;

namespace Igcv3.Tests.Networks;

/// <summary>
/// --no-decay-bn-bias exempts exactly BN's γ and β and the classifier's bias: the decayed region
/// of every network's flat buffer holds its convolution and linear weights and nothing else.
/// Counted here from the module tree (which layers are BatchNorm or Linear), not from the
/// parameters' own decay flags, so a layer that declared the wrong flag is caught.
/// </summary>
public class WeightDecayLayoutTests
{
    [Theory]
    [MemberData(nameof(RegisteredNetworks.All), MemberType = typeof(RegisteredNetworks))]
    public void DecayedRegion_IsExactlyTheConvolutionAndLinearWeights(string name)
    {
        var network = NetworkRegistry.Create(name, new NetworkOptions { WidthMultiplier = 0.25, Depth = 8, L = 2, M = 2, Width = 4 });
        long exempt = network.NamedModules().Sum(nm => nm.Module switch
        {
            BatchNorm bn => bn.NamedParameters().Sum(p => p.Parameter.Shape.Count),
            Linear linear => linear.Bias?.Shape.Count ?? 0,
            _ => 0,
        });
        Assert.True(exempt > 0);

        var set = ParameterSet.Create(network, CpuBackend.Instance, seed: 1);

        Assert.Equal(set.Count - exempt, set.DecayedCount);
        Assert.All(set.Parameters.Take(set.Parameters.Count(p => p.Parameter.Decay)), p => Assert.EndsWith(".weight", p.Name));
    }
}
