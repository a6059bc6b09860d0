using Igcv3.Engine;
using Igcv3.Networks;
using Igcv3.Train.Data;
using Igcv3.Train.Data.Images;

namespace Igcv3.Train.Training;

/// <summary>One class of an image's top k: its label index, name and softmax probability.</summary>
public sealed record ClassScore(int Index, string Name, double Probability);

/// <summary>An image's top classes, most probable first.</summary>
public sealed record Prediction(string Image, IReadOnlyList<ClassScore> Top);

/// <summary>
/// Classifies image files with a trained network: each is decoded (JPEG, PNG) and brought to the
/// network's input by the evaluation transform, resize the shorter side then take the centre
/// square: 32x32 straight from the shorter side for a CIFAR network (a CIFAR image is the whole
/// 32x32 scene), torchvision's Resize(256) + CenterCrop(224) for an ImageNet one. Then the
/// normalisation the network was trained with, one batch through the network in eval mode, and
/// the softmax of the logits.
/// </summary>
public sealed class Predictor(Network network, IBackend backend, ChannelNormalization normalization, IReadOnlyList<string> classNames)
{
    /// <summary>The transform for <paramref name="network"/>'s input.</summary>
    public static EvalTransform TransformFor(Network network) =>
        network.Input == InputKind.Cifar ? new EvalTransform(network.Resolution, cropFraction: 1.0) : new EvalTransform(network.Resolution);

    /// <summary>Every file decoded first, so that an image that cannot be decoded stops the
    /// command before anything is printed; <see cref="CorruptImageException"/> names it.</summary>
    public IReadOnlyList<Prediction> Predict(IReadOnlyList<string> images, int top)
    {
        var transform = TransformFor(network);
        int r = network.Resolution, pixels = r * r * 3;
        var batch = new float[images.Count * pixels]; // [N, R, R, 3]
        for (int i = 0; i < images.Count; i++) transform.WriteHwc(ImageDecoder.DecodeFile(images[i]), normalization, batch.AsSpan(i * pixels, pixels));
        float[] logits = Logits(batch, images.Count);
        int k = network.Classes;
        return [.. images.Select((image, i) => new Prediction(image, Top(logits.AsSpan(i * k, k), top)))];
    }

    /// <summary>Eval-mode logits [n, K] of the NHWC batch.</summary>
    public float[] Logits(float[] nhwc, int n)
    {
        network.Eval();
        using (GradMode.NoGrad())
        using (TensorScope.Begin())
        {
            var x = Tensor.FromArray(backend, nhwc, network.InputShape(n));
            return network.Forward(x).ToFloatArray();
        }
    }

    // softmax in double, max subtracted; ties keep label order.
    private List<ClassScore> Top(ReadOnlySpan<float> logits, int top)
    {
        double max = double.NegativeInfinity;
        foreach (float v in logits) max = Math.Max(max, v);
        var exp = new double[logits.Length];
        double sum = 0;
        for (int c = 0; c < logits.Length; c++) sum += exp[c] = Math.Exp(logits[c] - max);
        return [.. Enumerable.Range(0, logits.Length).OrderByDescending(c => exp[c]).Take(top)
            .Select(c => new ClassScore(c, c < classNames.Count ? classNames[c] : $"class_{c}", exp[c] / sum))];
    }
}
