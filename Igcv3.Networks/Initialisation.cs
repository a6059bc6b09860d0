using Igcv3.Engine.Nn;

namespace Igcv3.Networks;

/// <summary>
/// How weights start, as the official recipes do it. BN always starts at γ = 1, β = 0.
/// <list type="bullet">
/// <item><see cref="TorchvisionFanOut"/> (IGCV3, MobileNetV2, IGCV2): convolutions He-normal with
/// fan-out = Cout·K·K (torchvision's kaiming_normal_(mode="fan_out"), also what the IGCV3 PyTorch
/// port does), classifier normal(0, 0.01) with bias 0.</item>
/// <item><see cref="MsraFanIn"/> (IGCV1 and its dense baselines): MXNet's
/// Xavier(gaussian, "in", magnitude 2), i.e. He-normal with fan-in = K·K·Cin/groups, for
/// convolutions and the classifier alike (fan-in = In), biases 0.</item>
/// </list>
/// </summary>
public enum InitScheme { TorchvisionFanOut, MsraFanIn }

internal static class Inits
{
    public static Init Conv(InitScheme scheme, int outChannels, int kernel, int inChannelsPerGroup) => scheme switch
    {
        InitScheme.TorchvisionFanOut => Init.KaimingNormal(outChannels * kernel * kernel),
        _ => Init.KaimingNormal(kernel * kernel * inChannelsPerGroup),
    };

    public static Init Linear(InitScheme scheme, int inFeatures) =>
        scheme == InitScheme.TorchvisionFanOut ? Init.Normal(0.01) : Init.KaimingNormal(inFeatures);
}
