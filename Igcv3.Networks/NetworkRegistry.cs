namespace Igcv3.Networks;

/// <summary>
/// Network names → builders. <c>NetworkRegistry.Create("igcv3-d", new NetworkOptions { Classes = 100 })</c>.
/// Unknown names and impossible options throw <see cref="ArgumentException"/> saying which.
/// </summary>
public static class NetworkRegistry
{
    private static readonly Dictionary<string, (Func<NetworkOptions, Network> Build, string Description)> s_builders = new(StringComparer.OrdinalIgnoreCase)
    {
        ["igcv3-d"] = (InvertedResidualNetworks.Igcv3D, "IGCV3-D (released model; G1, G2, output permutation, ReLU placement, width multiplier)"),
        ["mobilenetv2"] = (InvertedResidualNetworks.MobileNetV2, "MobileNetV2 (torchvision layout: no t = 1 expansion; width multiplier)"),
        ["igcv2"] = (InvertedResidualNetworks.Igcv2, "IGCV2 blocks in the MobileNetV2 backbone (our construction; L)"),
        ["plain-igc"] = (Igcv1Networks.PlainIgc, "IGCV1 plain_igc(depth, L, M), CIFAR"),
        ["resnet-igc"] = (Igcv1Networks.ResNetIgc, "IGCV1 resnet_igc(depth, L, M), CIFAR"),
        ["resnet-igc-imagenet-d18"] = (Igcv1Networks.ResNetIgcImageNetD18, "IGCV1 resnet_igc_imgnet_d18(L, M), ImageNet"),
        ["plain"] = (Igcv1Networks.PlainDense, "dense plain baseline of the plain_igc shape (depth, width), CIFAR"),
        ["resnet"] = (Igcv1Networks.ResNetDense, "dense ResNet baseline (depth, width), CIFAR"),
        ["resnet-imagenet-d18"] = (Igcv1Networks.ResNetDenseImageNetD18, "dense ResNet-18 (width), ImageNet"),
    };

    /// <summary>Registered names, in registration order.</summary>
    public static IReadOnlyList<string> Names { get; } = s_builders.Keys.ToList();

    public static string Describe(string name) => Lookup(name).Description;

    public static Network Create(string name, NetworkOptions? options = null) => Lookup(name).Build(options ?? new NetworkOptions());

    private static (Func<NetworkOptions, Network> Build, string Description) Lookup(string name)
    {
        if (s_builders.TryGetValue(name, out var entry)) return entry;
        throw new ArgumentException($"unknown network '{name}'; known: {string.Join(", ", Names)}", nameof(name));
    }
}
