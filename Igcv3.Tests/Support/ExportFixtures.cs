using Igcv3.Engine;
using Igcv3.Engine.Nn;
using Igcv3.Networks;
using Microsoft.ML.OnnxRuntime;

namespace Igcv3.Tests.Support;

/// <summary>
/// What the export tests share: networks with every batch norm's statistics and affine
/// parameters drawn at random (a freshly built network has μ = 0, σ² = 1, γ = 1, β = 0, which
/// would fold to nothing and hide a folding mistake), our CPU engine's eval logits, and ONNX
/// Runtime's on the same input.
/// </summary>
public static class ExportFixtures
{
    /// <summary>Bound on the CPU, eval mode, batch norms randomised from <paramref name="seed"/>.</summary>
    public static Network Build(string name, NetworkOptions options, int seed = 1)
    {
        var network = NetworkRegistry.Create(name, options);
        ParameterSet.Create(network, Make.Cpu, seed);
        RandomiseBatchNorms(network, seed);
        network.Eval();
        return network;
    }

    public static void RandomiseBatchNorms(Module network, int seed)
    {
        var random = new Random(seed);
        double[] Draw(int n, double low, double high) => Enumerable.Range(0, n).Select(_ => low + (high - low) * random.NextDouble()).ToArray();
        foreach (var (_, module) in network.NamedModules())
        {
            if (module is not BatchNorm bn) continue;
            bn.Gamma.Value.UploadDoubles(Draw(bn.Channels, 0.5, 1.5));
            bn.Beta.Value.UploadDoubles(Draw(bn.Channels, -0.2, 0.2));
            bn.RunningMean.Value.UploadDoubles(Draw(bn.Channels, -0.3, 0.3));
            bn.RunningVar.Value.UploadDoubles(Draw(bn.Channels, 0.5, 2.0));
        }
    }

    /// <summary>Normal(0, 1) images, NCHW [n, 3, size, size].</summary>
    public static float[] RandomNchw(int n, int size, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n * 3 * size * size).Select(_ => (float)Tensor.NextGaussian(random)).ToArray();
    }

    /// <summary>[n, C, H, W] → [n, H, W, C].</summary>
    public static float[] NchwToNhwc(float[] x, int n, int c, int h, int w)
    {
        var y = new float[x.Length];
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int i = 0; i < h * w; i++)
                    y[(b * h * w + i) * c + ch] = x[(b * c + ch) * h * w + i];
        return y;
    }

    /// <summary>[n, H, W, C] → [n, C, H, W].</summary>
    public static float[] NhwcToNchw(float[] x, int n, int c, int h, int w)
    {
        var y = new float[x.Length];
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int i = 0; i < h * w; i++)
                    y[(b * c + ch) * h * w + i] = x[(b * h * w + i) * c + ch];
        return y;
    }

    /// <summary>Our CPU engine's eval-mode logits [n, K] for NHWC images.</summary>
    public static float[] EngineLogits(Network network, float[] nhwc, int n, int size)
    {
        network.Eval();
        using (GradMode.NoGrad())
        using (TensorScope.Begin())
        {
            var x = Tensor.FromArray(Make.Cpu, nhwc, [n, size, size, 3]);
            return network.Forward(x).ToFloatArray();
        }
    }

    /// <summary>A session as strict as ONNX Runtime gets: no graph optimisation (the graph runs as
    /// written) and strict shape and type inference, so a malformed graph fails to load.</summary>
    public static InferenceSession StrictSession(byte[] model)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL, IntraOpNumThreads = 2 };
        options.AddSessionConfigEntry("session.strict_shape_type_inference", "1");
        return new InferenceSession(model, options);
    }

    /// <summary>ONNX Runtime's output "logits" for NCHW input "input".</summary>
    public static float[] OnnxLogits(InferenceSession session, float[] nchw, int n, int size)
    {
        using var input = OrtValue.CreateTensorValueFromMemory(nchw, [n, 3, size, size]);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, ["input"], [input], ["logits"]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary>max |a − b| / max |b|: float32 agreement relative to the logits' scale.</summary>
    public static double RelativeError(float[] a, float[] b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"{a.Length} values against {b.Length}");
        double diff = 0, scale = 0;
        for (int i = 0; i < a.Length; i++)
        {
            diff = Math.Max(diff, Math.Abs(a[i] - (double)b[i]));
            scale = Math.Max(scale, Math.Abs((double)b[i]));
        }
        return diff / Math.Max(scale, 1e-30);
    }
}
