using Igcv3.Engine.Checkpoints;
using Igcv3.Engine.Nn;
using Igcv3.Networks;

namespace Igcv3.Train.Export;

/// <summary>
/// Our MobileNetV2 as a torchvision.models.mobilenet_v2 state_dict: float32 OIHW weights under
/// torchvision's names, so that <c>mobilenet_v2(num_classes=K, width_mult=m).load_state_dict(
/// safetensors.torch.load_file(path))</c> loads it with strict=True:
/// <code>
/// stem            features.0.0.weight, features.0.1.{weight, bias, running_mean, running_var, num_batches_tracked}
/// block k (1..17) features.k.conv.0.0 / .0.1   expand 1x1 and its BN (absent where t = 1)
///                 features.k.conv.i.0 / .i.1   depthwise 3x3 and its BN (i = 1, or 0 where t = 1)
///                 features.k.conv.(i+1).weight project 1x1; features.k.conv.(i+2).* its BN
/// head            features.18.0.weight, features.18.1.*
/// classifier      classifier.1.{weight, bias} (classifier.0 is torchvision's Dropout(0.2))
/// </code>
/// The ImageNet variant at width 1.0 (and any width whose channel counts match torchvision's
/// _make_divisible-by-8 rounding, e.g. --arithmetic clean) is torchvision's architecture exactly:
/// strides, the 1280-wide head, shortcuts where stride 1 and widths agree, BN ε 1e-5; eval logits
/// are equal (dropout is inactive). Our classifier has no dropout in training, torchvision's has
/// 0.2. The CIFAR variant has the same tensors but strides 1 in the stem and in the second stage
/// (32x32 input): it loads, and matches once those two strides are set to 1 in the torchvision
/// model (features[0][0].stride and features[2].conv[1][0].stride). num_batches_tracked is 0: we
/// do not count batches, and torchvision reads it only for momentum=None.
/// </summary>
public static class TorchvisionMobileNetV2
{
    /// <summary>The state_dict of <paramref name="network"/> (a bound mobilenetv2), in torchvision's key order.</summary>
    public static List<SafeTensor> StateDict(Network network)
    {
        if (network.Name != "mobilenetv2")
            throw new ArgumentException($"pytorch-safetensors export writes torchvision's MobileNetV2 names; network '{network.Name}' has no torchvision counterpart (export it as onnx, or load its checkpoint with Igcv3.Bench/pytorch)");
        var parts = network.Children.ToDictionary(c => c.Name, c => c.Module);
        var tensors = new List<SafeTensor>();
        ConvBn((ConvBn)parts["stem"], "features.0", tensors);
        int k = 1;
        foreach (var block in ((Sequential)parts["stages"]).Children.SelectMany(stage => ((Stage)stage.Module).Blocks.Children).Select(b => (MobileNetV2Block)b.Module))
        {
            string prefix = $"features.{k++}.conv";
            int i = 0;
            if (block.Expand is { } expand)
            {
                if (k == 2) throw new ArgumentException("pytorch-safetensors export: this MobileNetV2 keeps the 1x1 expansion in its t = 1 block (--expand-when-t1), which torchvision's has not; export it as onnx");
                Pointwise(expand, $"{prefix}.0.0.weight", tensors);
                Bn(block.ExpandBn!, $"{prefix}.0.1", tensors);
                i = 1;
            }
            var dw = block.Depthwise;
            tensors.Add(SafeTensor.FromFloats($"{prefix}.{i}.0.weight", dw.Weight.Value.ToFloatArray(), [dw.Channels, 1, 3, 3]));
            Bn(block.DepthwiseBn, $"{prefix}.{i}.1", tensors);
            Pointwise(block.Project, $"{prefix}.{i + 1}.weight", tensors);
            Bn(block.ProjectBn, $"{prefix}.{i + 2}", tensors);
        }
        ConvBn((ConvBn)parts["head"], $"features.{k}", tensors);
        var classifier = (Linear)parts["classifier"];
        tensors.Add(SafeTensor.FromFloats("classifier.1.weight", classifier.Weight.Value.ToFloatArray(), [classifier.OutFeatures, classifier.InFeatures]));
        tensors.Add(SafeTensor.FromFloats("classifier.1.bias", classifier.Bias!.Value.ToFloatArray(), [classifier.OutFeatures]));
        return tensors;
    }

    private static void ConvBn(ConvBn part, string prefix, List<SafeTensor> tensors)
    {
        var conv = part.Conv;
        int k = conv.Spec.Kernel, cinPerGroup = conv.InChannels / conv.Spec.Groups;
        tensors.Add(SafeTensor.FromFloats($"{prefix}.0.weight", WeightLayout.OhwiToOihw(conv.Weight.Value.ToFloatArray(), conv.OutChannels, k, cinPerGroup),
            [conv.OutChannels, cinPerGroup, k, k]));
        Bn(part.Bn, $"{prefix}.1", tensors);
    }

    private static void Pointwise(PointwiseConv conv, string name, List<SafeTensor> tensors) =>
        tensors.Add(SafeTensor.FromFloats(name, conv.Weight.Value.ToFloatArray(), [conv.OutChannels, conv.InChannels / conv.Spec.Groups, 1, 1]));

    private static void Bn(BatchNorm bn, string prefix, List<SafeTensor> tensors)
    {
        tensors.Add(SafeTensor.FromFloats($"{prefix}.weight", bn.Gamma.Value.ToFloatArray(), [bn.Channels]));
        tensors.Add(SafeTensor.FromFloats($"{prefix}.bias", bn.Beta.Value.ToFloatArray(), [bn.Channels]));
        tensors.Add(SafeTensor.FromFloats($"{prefix}.running_mean", bn.RunningMean.Value.ToFloatArray(), [bn.Channels]));
        tensors.Add(SafeTensor.FromFloats($"{prefix}.running_var", bn.RunningVar.Value.ToFloatArray(), [bn.Channels]));
        tensors.Add(SafeTensor.FromInt64s($"{prefix}.num_batches_tracked", [0L], []));
    }
}
