using Igcv3.Networks;
using Igcv3.Train.Commands;

namespace Igcv3.Train.Settings;

/// <summary>
/// Checks the settings that do not depend on the network before anything is built, loaded or
/// written, so an impossible option costs no time and touches no file. Each failure is one line
/// naming the option, the value and what is allowed.
/// </summary>
public static class SettingsValidation
{
    public static readonly string[] Datasets = ["cifar10", "cifar100", "svhn", "imagenet", "synthetic"];
    public static readonly string[] Schedules = ["exponential", "step", "cosine", "onecycle"];
    public static readonly string[] Augmentations = ["standard", "pad-crop-flip", "random-resized-crop", "none"];
    public static readonly string[] Arithmetics = ["official", "clean"];
    public static readonly string[] Inits = ["torchvision-fan-out", "msra-fan-in"];
    public static readonly string[] ReluPositions = ["expand", "depthwise", "project"];
    public static readonly string[] CudaGraphs = ["on", "off"];
    /// <summary>--pointwise-gemm: the backend's <see cref="Igcv3.Kernels.Cuda.PointwiseGemm"/> names, lower-cased.</summary>
    public static readonly string[] PointwiseGemms = [.. Enum.GetNames<Igcv3.Kernels.Cuda.PointwiseGemm>().Select(n => n.ToLowerInvariant())];

    /// <summary>--relu as the network's flags: "none", or positions joined by commas.</summary>
    public static ReluPlacement ReluPlacementOf(string relu)
    {
        if (relu.Trim() == "none") return ReluPlacement.None;
        var placement = ReluPlacement.None;
        foreach (var position in relu.Split(',', StringSplitOptions.TrimEntries))
        {
            OneOf("--relu", position, ReluPositions);
            placement |= position switch
            {
                "expand" => ReluPlacement.AfterExpand,
                "depthwise" => ReluPlacement.AfterDepthwise,
                _ => ReluPlacement.AfterProject,
            };
        }
        return placement;
    }

    public static void Validate(RunSettings s)
    {
        OneOf("--dataset", s.Dataset, Datasets);
        OneOf("--schedule", s.Schedule, Schedules);
        OneOf("--augment", s.Augment, Augmentations);
        OneOf("--arithmetic", s.Arithmetic, Arithmetics);
        OneOf("--pointwise-gemm", s.PointwiseGemm, PointwiseGemms);
        if (s.CudaGraph is not null) OneOf("--cuda-graph", s.CudaGraph, CudaGraphs);
        ReluPlacementOf(s.Relu);
        if (s.Init is not null) OneOf("--init", s.Init, Inits);

        Positive("--epochs", s.Epochs);
        Positive("--batch-size", s.BatchSize);
        Positive("--eval-batch-size", s.EvalBatchSize);
        if (!(s.WidthMultiplier > 0) || !double.IsFinite(s.WidthMultiplier))
            throw new UsageException($"--width-multiplier must be positive, got {s.WidthMultiplier}; 1.0 is the full network, 0.5 half as wide");
        if (s.LimitTrain is { } lt) Positive("--limit-train", lt);
        if (s.LogEvery is { } every) Positive("--log-every", every);
        if (s.TimeLimitMinutes is { } minutes) PositiveFinite("--time-limit-minutes", minutes);
        if (s.CheckpointEveryMinutes is { } interval) PositiveFinite("--checkpoint-every-minutes", interval);
        if (s.LimitTest is { } le) Positive("--limit-test", le);
        Positive("--synthetic-train", s.SyntheticTrain);
        Positive("--synthetic-test", s.SyntheticTest);
        if (s.Pad < 0) throw new UsageException($"--pad must be >= 0, got {s.Pad}");
        ImageOptions(s);

        PositiveFinite("--lr", s.Lr);
        if (!(s.Momentum >= 0 && s.Momentum < 1)) throw new UsageException($"--momentum must be in [0, 1), got {s.Momentum}");
        if (s.Nesterov && s.Momentum == 0) throw new UsageException("--nesterov needs --momentum > 0");
        if (!(s.WeightDecay >= 0) || !double.IsFinite(s.WeightDecay)) throw new UsageException($"--weight-decay must be >= 0, got {s.WeightDecay}");
        if (!(s.LabelSmoothing >= 0 && s.LabelSmoothing < 1)) throw new UsageException($"--label-smoothing must be in [0, 1), got {s.LabelSmoothing}");
        if (s.Schedule == "exponential") PositiveFinite("--gamma", s.Gamma);
        if (s.Schedule == "cosine" && !(s.WarmupEpochs >= 0 && s.WarmupEpochs < s.Epochs))
            throw new UsageException($"--warmup-epochs must be in [0, --epochs = {s.Epochs}), got {s.WarmupEpochs}");

        string device = s.Device.Trim().ToLowerInvariant();
        if (device is not ("auto" or "cpu" or "cuda" or "emulated") && !(device.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(device[5..], out int n) && n >= 0))
            throw new UsageException($"--device must be auto, cpu, cuda, cuda:N or emulated, got '{s.Device}'");
    }

    /// <summary>The ImageNet crop and loader options, and which augmentations fit which data.</summary>
    private static void ImageOptions(RunSettings s)
    {
        bool imageNet = s.Dataset == "imagenet";
        if (imageNet && s.Augment == "pad-crop-flip")
            throw new UsageException("--augment pad-crop-flip is the 32x32 datasets' augmentation; imagenet trains with random-resized-crop (the standard) or none");
        if (!imageNet && s.Augment == "random-resized-crop")
            throw new UsageException($"--augment random-resized-crop is ImageNet's augmentation; {s.Dataset} trains with pad-crop-flip (the standard) or none");
        if (!(s.MinScale > 0 && s.MinScale <= 1)) throw new UsageException($"--min-scale must be in (0, 1], got {s.MinScale}");
        if (!(s.ColorJitter >= 0 && s.ColorJitter < 1)) throw new UsageException($"--color-jitter must be in [0, 1), got {s.ColorJitter}");
        if (!(s.Hue >= 0 && s.Hue <= 0.5)) throw new UsageException($"--hue must be in [0, 0.5] (turns of the colour wheel), got {s.Hue}");
        if (!(s.Lighting >= 0) || !double.IsFinite(s.Lighting)) throw new UsageException($"--lighting must be >= 0, got {s.Lighting}");
        if (!(s.CropFraction > 0 && s.CropFraction <= 1)) throw new UsageException($"--crop-fraction must be in (0, 1], got {s.CropFraction}; 0.875 resizes to 256 and crops 224");
        if (s.Workers is { } workers) Positive("--workers", workers);
        OneOf("--jpeg-draft", s.JpegDraft, ["on", "off"]);
    }

    private static void OneOf(string option, string value, string[] allowed)
    {
        if (!allowed.Contains(value, StringComparer.Ordinal))
            throw new UsageException($"unknown {option[2..]} '{value}'; choose one of {string.Join(", ", allowed)} ({option})");
    }

    private static void Positive(string option, int value)
    {
        if (value <= 0) throw new UsageException($"{option} must be at least 1, got {value}");
    }

    private static void PositiveFinite(string option, double value)
    {
        if (!(value > 0) || !double.IsFinite(value)) throw new UsageException($"{option} must be positive, got {value}");
    }
}
