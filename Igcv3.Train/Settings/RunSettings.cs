using System.ComponentModel;
using System.Text.Json.Serialization;

namespace Igcv3.Train.Settings;

/// <summary>
/// Every setting of a run. Each property is at once a command-line option (--width-multiplier)
/// and a key of a JSON config file ("width-multiplier"): the kebab-case of the property name.
/// Defaults are the IGCV3 CIFAR recipe of the public PyTorch port (SGD momentum 0.9, lr 0.1
/// x 0.98 per epoch, weight decay 5e-4, pad-4 crop + flip).
/// </summary>
public sealed record RunSettings
{
    // ---- network ---------------------------------------------------------------------------

    [Description("Network: igcv3-d, mobilenetv2, igcv2, plain-igc, resnet-igc, plain, resnet, ... (see 'summary --help').")]
    public string Network { get; init; } = "igcv3-d";

    [Description("Width multiplier of igcv3-d / mobilenetv2 / igcv2 (> 0).")]
    public double WidthMultiplier { get; init; } = 1.0;

    [Description("Width arithmetic: official (the released code's rounding) or clean.")]
    public string Arithmetic { get; init; } = "official";

    [Description("IGCV3: groups of the expanding 1x1 convolution.")]
    public int G1 { get; init; } = 2;

    [Description("IGCV3: groups of the projecting 1x1 convolution.")]
    public int G2 { get; init; } = 2;

    [Description("IGCV3: add the permutation after the projecting convolution.")]
    public bool OutputPermutation { get; init; }

    [Description("IGCV3: where the ReLU6s go (the paper's ablation): a comma-separated list of expand, depthwise, project, or none.")]
    public string Relu { get; init; } = "depthwise";

    [Description("MobileNetV2: keep the 1x1 expansion in t = 1 blocks.")]
    public bool ExpandWhenT1 { get; init; }

    [Description("IGCV2: L, convolutions per block (>= 2).")]
    public int Igcv2Depth { get; init; } = 3;

    [Description("IGCV1 and dense baselines: network depth.")]
    public int Depth { get; init; } = 20;

    [Description("IGCV1: primary group count L.")]
    public int L { get; init; } = 2;

    [Description("IGCV1: secondary group count M.")]
    public int M { get; init; } = 8;

    [Description("Dense baselines: width of the first stage.")]
    public int? Width { get; init; }

    [Description("Initialisation: torchvision-fan-out or msra-fan-in (default: the family's own).")]
    public string? Init { get; init; }

    // ---- data ------------------------------------------------------------------------------

    [Description("Dataset: cifar10, cifar100, svhn, imagenet or synthetic.")]
    public string Dataset { get; init; } = "cifar10";

    [Description("Folder with the CIFAR binary release (or its parent); for imagenet the folder holding train/ and val/ (class folders) or train.rec and val.rec (MXNet RecordIO).")]
    public string DataDir { get; init; } = "data";

    [Description("Download the official CIFAR archive (or the SVHN .mat files) into --data-dir when the files are absent.")]
    public bool Download { get; init; }

    [Description("SVHN: add extra_32x32.mat (531,131 images) to the training set.")]
    public bool SvhnExtra { get; init; }

    [Description("Use only the first N training images (quick runs).")]
    public int? LimitTrain { get; init; }

    [Description("Use only the first N test images (quick runs).")]
    public int? LimitTest { get; init; }

    [Description("Synthetic dataset: training images.")]
    public int SyntheticTrain { get; init; } = 5000;

    [Description("Synthetic dataset: test images.")]
    public int SyntheticTest { get; init; } = 1000;

    [Description("Augmentation: standard (the dataset's: pad-crop-flip for 32x32 sets, random-resized-crop for imagenet), pad-crop-flip (random crop from the image padded by --pad, random mirror), random-resized-crop (torchvision's ImageNet crop to 224 + mirror) or none.")]
    public string Augment { get; init; } = "standard";

    [Description("Padding of the random crop, in pixels.")]
    public int Pad { get; init; } = 4;

    [Description("ImageNet: smallest area fraction of random-resized-crop (torchvision: 0.08).")]
    public double MinScale { get; init; } = 0.08;

    [Description("ImageNet: colour jitter, brightness/contrast/saturation factors in [1 - j, 1 + j] (0: off; 0.4 is common).")]
    public double ColorJitter { get; init; }

    [Description("ImageNet: hue jitter, a shift uniform in [-h, h] turns of the colour wheel (ColorJitter's hue; 0: off, at most 0.5; 0.1 is common).")]
    public double Hue { get; init; }

    [Description("ImageNet: AlexNet's PCA lighting noise, its standard deviation (0: off; 0.1 is AlexNet's).")]
    public double Lighting { get; init; }

    [Description("ImageNet evaluation: the centre crop's share of the resized image (0.875: resize to 256, crop 224).")]
    public double CropFraction { get; init; } = 0.875;

    [Description("ImageNet: image loader threads (default: one per core).")]
    public int? Workers { get; init; }

    [Description("ImageNet: on decodes a large JPEG at 1/2, 1/4 or 1/8 of its size (DCT domain, PIL's draft) where the crop still only shrinks from it (faster; within a grey level on average of torchvision); off decodes every image at full size, torchvision's pixels exactly.")]
    public string JpegDraft { get; init; } = "on";

    // ---- optimisation ----------------------------------------------------------------------

    [Description("Epochs to train.")]
    public int Epochs { get; init; } = 300;

    [Description("Training batch size.")]
    public int BatchSize { get; init; } = 128;

    [Description("Evaluation batch size.")]
    public int EvalBatchSize { get; init; } = 256;

    [Description("Learning rate (peak rate for cosine and one-cycle).")]
    public double Lr { get; init; } = 0.1;

    [Description("Schedule: exponential (lr x gamma per epoch, IGCV3), step (IGCV1), cosine (with warm-up) or onecycle.")]
    public string Schedule { get; init; } = "exponential";

    [Description("Exponential schedule: factor per epoch.")]
    public double Gamma { get; init; } = 0.98;

    [Description("Step schedule: milestones as fractions of the run.")]
    public double[] Milestones { get; init; } = [0.5, 0.75, 0.875];

    [Description("Step schedule: factor at each milestone.")]
    public double LrFactor { get; init; } = 0.1;

    [Description("Cosine schedule: warm-up epochs.")]
    public double WarmupEpochs { get; init; } = 5;

    [Description("Cosine schedule: final learning rate.")]
    public double MinLr { get; init; }

    [Description("One-cycle: fraction of the run spent rising.")]
    public double PctStart { get; init; } = 0.3;

    [Description("One-cycle: initial rate = lr / div-factor.")]
    public double DivFactor { get; init; } = 25;

    [Description("One-cycle: final rate = initial rate / final-div-factor.")]
    public double FinalDivFactor { get; init; } = 1e4;

    [Description("SGD momentum.")]
    public double Momentum { get; init; } = 0.9;

    [Description("Nesterov momentum.")]
    public bool Nesterov { get; init; }

    [Description("Weight decay (L2).")]
    public double WeightDecay { get; init; } = 5e-4;

    [Description("No weight decay on BN gamma/beta and biases.")]
    public bool NoDecayBnBias { get; init; }

    [Description("Label smoothing epsilon in [0, 1).")]
    public double LabelSmoothing { get; init; }

    // ---- run -------------------------------------------------------------------------------

    [Description("Seed of the initialisation, the shuffling and the augmentation.")]
    public int Seed { get; init; }

    [Description("Read loss and accuracy back from the device every N steps (default 1 on the CPU, 20 on CUDA): each read waits for the device, so N > 1 lets the host queue steps ahead of the GPU. Progress and steps.csv then move N steps at a time, with the same values.")]
    public int? LogEvery { get; init; }

    [Description("Stop within this many minutes of wall time (a job's time slot): after the last epoch whose length still fits, or, should one epoch not fit, mid-epoch as Ctrl+C does. Either way last.safetensors is saved and --resume continues; the exit code is 0.")]
    public double? TimeLimitMinutes { get; init; }

    [Description("Also save last.safetensors mid-epoch every this many minutes of wall time (atomically, resumable exactly as after Ctrl+C), so that a kill loses at most that much of a long epoch.")]
    public double? CheckpointEveryMinutes { get; init; }

    [Description("Device: auto (CUDA when available, else CPU), cuda, cuda:N, cpu, or emulated (the CUDA kernels run on the CPU, built with g++: slow, for checking kernels without a GPU).")]
    public string Device { get; init; } = "auto";

    [Description("CUDA 1x1 convolutions: auto (per layer shape, the faster of our tiled kernels and cuBLAS, timed on the GPU at the first step), tiled or cublas (one way for every shape, so that a rerun repeats the same arithmetic).")]
    public string PointwiseGemm { get; init; } = "auto";

    [Description("CUDA graph of the training step: on (the default on a GPU: the first step runs eagerly, the second is captured once and every later step is one graph launch; where capture is not possible a line says why and steps stay eager) or off (every step eager). Ignored on the CPU.")]
    public string? CudaGraph { get; init; }

    [Description("Fine-tuning: start from the weights of this checkpoint (or run folder: its best.safetensors), each tensor whose name and shape match; the others (a classifier for another class count) keep their fresh initialisation. Not used by --resume, whose checkpoint holds the weights.")]
    public string? InitFrom { get; init; }

    // ---- data parallel (several GPUs, several machines) -------------------------------------

    [Description("Data-parallel training on these GPUs of this machine, e.g. 0,1,2,3: one worker (a thread with its own CUDA context and streams) per GPU, gradients averaged by NCCL during backward. With --device emulated, emulated GPUs and an in-process communicator (for checking without a GPU). --batch-size is then PER GPU (the global batch is GPUs x batch size, as in the official code); the learning rate is not scaled for you.")]
    public string? Gpus { get; init; }

    [Description("Data-parallel training on the CPU with N workers (threads, an in-process communicator in place of NCCL): the multi-GPU path without a GPU, for tests. --batch-size is per worker. (--workers is the image loader's threads.)")]
    public int? CpuWorkers { get; init; }

    [Description("Batch-norm statistics over the whole global batch (all-reduced across workers) instead of each GPU's own (the default, as the official MXNet training).")]
    public bool SyncBn { get; init; }

    [Description("Machines taking part (torchrun's --nnodes); each runs this command with its own --node-rank.")]
    public int? Nodes { get; init; }

    [Description("This machine's index in [0, nodes) (torchrun's --node-rank); node 0 hosts the rendezvous.")]
    public int? NodeRank { get; init; }

    [Description("host:port of node 0's rendezvous, where the other nodes fetch the NCCL id (default MASTER_ADDR:MASTER_PORT).")]
    public string? MasterAddress { get; init; }

    [Description("Output folder (default runs/<network>-<dataset>).")]
    public string? Output { get; init; }

    /// <summary>The output folder actually used.</summary>
    [JsonIgnore]
    public string OutputFolder => Output ?? Path.Combine("runs", $"{Network}-{Dataset}");

    /// <summary>The network as people name it, with the knobs that define its size: "igcv3-d 0.5x",
    /// "resnet-igc depth 20 L=2 M=8", "resnet depth 20 width 16".</summary>
    public string NetworkLabel => Network switch
    {
        "igcv3-d" or "mobilenetv2" or "igcv2" => $"{Network} {WidthMultiplier.ToString("0.0##", System.Globalization.CultureInfo.InvariantCulture)}x",
        "plain-igc" or "resnet-igc" => $"{Network} depth {Depth} L={L} M={M}",
        "resnet-igc-imagenet-d18" => $"{Network} L={L} M={M}",
        "plain" or "resnet" => $"{Network} depth {Depth}" + (Width is { } width ? $" width {width}" : ""),
        _ => Network,
    };
}
