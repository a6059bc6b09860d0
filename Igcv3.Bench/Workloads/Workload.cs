using System.Globalization;
using Igcv3.Engine;
using Igcv3.Networks;

namespace Igcv3.Bench.Workloads;

/// <summary>A network at one input and batch size: what a benchmark trains. <see cref="Resolution"/>
/// overrides the input side (the CPU smoke run feeds small images to the ImageNet variants; the
/// real runs keep the variant's own 32 or 224).</summary>
public sealed record Workload(string Network, InputKind Input, int Batch, int Classes, int? Resolution = null)
{
    /// <summary>The runs the issue asks for: IGCV3-D and MobileNetV2, CIFAR-10 at batch 128 and
    /// ImageNet at batch 64.</summary>
    public static IReadOnlyList<Workload> Standard { get; } =
    [
        new("igcv3-d", InputKind.Cifar, 128, 10),
        new("mobilenetv2", InputKind.Cifar, 128, 10),
        new("igcv3-d", InputKind.ImageNet, 64, 1000),
        new("mobilenetv2", InputKind.ImageNet, 64, 1000),
    ];

    /// <summary>The CIFAR-10 batch-128 runs, whose training steps the end-to-end figures are for.</summary>
    public static IReadOnlyList<Workload> EndToEnd { get; } = Standard.Where(w => w.Input == InputKind.Cifar).ToList();

    /// <summary>Tiny versions of <see cref="Standard"/> for the CPU smoke run: the same networks and
    /// layer kinds (every op appears), a few images, ImageNet variants at 64x64.</summary>
    public static IReadOnlyList<Workload> Smoke { get; } =
    [
        new("igcv3-d", InputKind.Cifar, 2, 10),
        new("mobilenetv2", InputKind.Cifar, 2, 10),
        new("igcv3-d", InputKind.ImageNet, 2, 1000, Resolution: 64),
        new("mobilenetv2", InputKind.ImageNet, 2, 1000, Resolution: 64),
    ];

    public int Side => Resolution ?? (Input == InputKind.Cifar ? 32 : 224);

    /// <summary>NHWC input shape [Batch, Side, Side, 3].</summary>
    public Shape InputShape => [Batch, Side, Side, 3];

    /// <summary>"igcv3-d/cifar/b128" (with "/r64" when the resolution is overridden).</summary>
    public string Name => string.Create(CultureInfo.InvariantCulture,
        $"{Network}/{(Input == InputKind.Cifar ? "cifar" : "imagenet")}/b{Batch}{(Resolution is int r ? $"/r{r}" : "")}");

    public Network Create() => NetworkRegistry.Create(Network, new NetworkOptions { Classes = Classes, Input = Input });

    public override string ToString() => Name;
}
