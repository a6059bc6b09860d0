using Igcv3.Engine;
using Igcv3.Engine.Nn;
using Igcv3.Networks;
using Igcv3.Train.Commands;
using Igcv3.Train.Schedules;
using Igcv3.Train.Settings;

namespace Igcv3.Train.Training;

/// <summary>
/// Turns settings into the network, its parameters, the optimizer and the schedule. The builders
/// throw ArgumentException for impossible knobs (unknown network, groups that do not divide the
/// channels); here, and only here, those become <see cref="UsageException"/>s, because here they
/// can only come from what the user asked for.
/// </summary>
public static class ModelBuilder
{
    /// <summary>The network to train or evaluate: the ImageNet (224x224) variant for imagenet, the CIFAR (32x32) one for the other datasets.</summary>
    public static Network Network(RunSettings s, int classes)
    {
        var input = s.Dataset == "imagenet" ? InputKind.ImageNet : InputKind.Cifar;
        // The CIFAR-only builders take any input kind they are given, so ask the list, not the network.
        if (input == InputKind.ImageNet && !ImageNetNetworks.Contains(s.Network) && NetworkRegistry.Names.Contains(s.Network))
            throw new UsageException($"network '{s.Network}' has no ImageNet (224x224) variant; imagenet trains {string.Join(", ", ImageNetNetworks)}");
        var network = Create(s, classes, input);
        if (network.Input != input)
            throw new UsageException($"network '{s.Network}' is an ImageNet (224x224) network; 32x32 training ({s.Dataset}) needs a CIFAR variant (igcv3-d, mobilenetv2, igcv2, plain-igc, resnet-igc, plain, resnet)");
        return network;
    }

    /// <summary>The networks with a 224x224 ImageNet variant (stride-2 stem, 7x7 final resolution).</summary>
    public static readonly string[] ImageNetNetworks = ["igcv3-d", "mobilenetv2", "igcv2", "resnet-igc-imagenet-d18", "resnet-imagenet-d18"];

    /// <summary>The network of <paramref name="s"/> in the <paramref name="input"/> variant where it has
    /// one (the ImageNet-only networks ignore it): what <c>summary</c> shows.</summary>
    public static Network Create(RunSettings s, int classes, InputKind input)
    {
        var options = new NetworkOptions
        {
            Classes = classes,
            Input = input,
            WidthMultiplier = s.WidthMultiplier,
            Arithmetic = s.Arithmetic == "clean" ? WidthArithmetic.Clean : WidthArithmetic.Official,
            G1 = s.G1,
            G2 = s.G2,
            OutputPermutation = s.OutputPermutation,
            Relu = SettingsValidation.ReluPlacementOf(s.Relu),
            ExpandWhenT1 = s.ExpandWhenT1,
            IgcV2Depth = s.Igcv2Depth,
            Depth = s.Depth,
            L = s.L,
            M = s.M,
            Width = s.Width,
            Init = s.Init switch { "msra-fan-in" => InitScheme.MsraFanIn, "torchvision-fan-out" => InitScheme.TorchvisionFanOut, _ => null },
        };
        try
        {
            return NetworkRegistry.Create(s.Network, options);
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"{UserMessage(e)} (check --network and its options; 'summary --network NAME' shows a network without training it)", e);
        }
    }

    public static Sgd Optimizer(RunSettings s, ParameterSet parameters) =>
        Wrap(() => new Sgd(parameters, s.Momentum, s.Nesterov, s.WeightDecay, s.NoDecayBnBias));

    public static ILearningRateSchedule Schedule(RunSettings s) => Wrap<ILearningRateSchedule>(() => s.Schedule switch
    {
        "exponential" => new ExponentialSchedule(s.Lr, s.Gamma),
        "step" => new StepSchedule(s.Lr, s.Epochs, s.Milestones, s.LrFactor),
        "cosine" => new WarmupCosineSchedule(s.Lr, s.Epochs, s.WarmupEpochs, s.MinLr),
        "onecycle" => new OneCycleSchedule(s.Lr, s.Epochs, s.PctStart, s.DivFactor, s.FinalDivFactor),
        _ => throw new UsageException($"unknown schedule '{s.Schedule}'; choose one of {string.Join(", ", SettingsValidation.Schedules)}"),
    });

    private static T Wrap<T>(Func<T> build)
    {
        try
        {
            return build();
        }
        catch (ArgumentException e)
        {
            throw new UsageException(UserMessage(e), e);
        }
    }

    /// <summary>An ArgumentException's message without the " (Parameter 'x')" and "Actual value was" tails .NET appends.</summary>
    public static string UserMessage(ArgumentException e)
    {
        string message = e.Message.Split('\n')[0].TrimEnd('\r');
        if (e.ParamName is { } name) message = message.Replace($" (Parameter '{name}')", "");
        return message;
    }
}
