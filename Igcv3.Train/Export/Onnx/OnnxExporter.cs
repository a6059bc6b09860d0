using Igcv3.Engine;
using Igcv3.Engine.Nn;
using Igcv3.Networks;
using Onnx;

namespace Igcv3.Train.Export;

/// <summary>
/// A network in eval mode as a standard ONNX graph (opset 17): input "input" NCHW float
/// [batch, 3, R, R] (batch symbolic), output "logits" [batch, classes]. Our engine runs NHWC;
/// the graph is NCHW as deployment tools expect, so every weight is converted to ONNX's OIHW
/// layout here and no Transpose of the activations is needed. The input is the normalised image
/// ((pixel/255 − mean)/std per channel, RGB); mean and std are in the metadata.
///
/// Each batch norm is folded into the convolution before it; our fused IGC permutations become
/// Reshape [N, G, C/G, H, W] → Transpose (0, 2, 1, 3, 4) → Reshape [N, C, H, W], which is
/// out[j·G + g] = in[g·(C/G) + j]; grouped 1x1 and depthwise convolutions are Conv with
/// `group`; ReLU6 is Clip(0, 6).
///
/// The walk knows each module kind of <see cref="Igcv3.Networks"/> and what its Forward computes;
/// a kind it does not know fails the export rather than being guessed at. The test that runs every
/// registered network's export in ONNX Runtime against our CPU engine holds this walk to Forward.
/// </summary>
internal sealed class OnnxExporter
{
    private const string Batch = "batch";

    private readonly OnnxGraph _graph;
    private string? _zero, _six;

    private OnnxExporter(string name) => _graph = new OnnxGraph(name);

    /// <summary>The model for <paramref name="network"/>, whose parameters must be bound (read on the host).</summary>
    public static ModelProto Export(Network network, IEnumerable<KeyValuePair<string, string>> metadata)
    {
        var exporter = new OnnxExporter(network.Name);
        int r = network.Resolution;
        string input = exporter._graph.Input("input", [null, 3, r, r], Batch);
        var logits = exporter.Emit(network, "", new Value(input, 3, r, r));
        string output = exporter._graph.Node("Identity", "logits", [exporter.Materialize(logits)]);
        exporter._graph.Output(output, [null, network.Classes], Batch);
        return exporter._graph.ToModel($"{network.Name}, eval mode, batch norms folded; input NCHW normalised RGB", metadata);
    }

    /// <summary>A value flowing through the graph: a written one (Name), or a convolution held
    /// back for the batch norm that may follow it (Pending). Shape [N, C, H, W], or [N, C] when flat.</summary>
    private sealed class Value(string? name, int channels, int height, int width)
    {
        public string? Name { get; set; } = name;
        public FoldedConv? Pending { get; set; }
        public int Channels { get; } = channels;
        public int Height { get; } = height;
        public int Width { get; } = width;
        public bool Flat => Height == 0;

        public static Value Held(FoldedConv conv, int height, int width) => new(null, conv.OutChannels, height, width) { Pending = conv };
    }

    private static string Child(string path, string name) => path.Length == 0 ? name : path + "." + name;

    private Value Emit(Module module, string path, Value x) => module switch
    {
        Conv2d c => Convolution(c, path, x),
        PointwiseConv p => Pointwise(p, path, x),
        DepthwiseConv3x3 d => Depthwise(d, path, x),
        BatchNorm bn => Fold(bn, path, x),
        MaxPool m => MaxPooling(m, path, x),
        GlobalAvgPool => AveragePooling(path, x),
        Linear l => Gemm(l, path, x),
        ResidualBlock r => Residual(r, path, x),
        // y = children in order (+ x where the block has a shortcut): what their Forwards compute.
        MobileNetV2Block b => Shortcut(Chain(b, path, x), b.HasShortcut, path, x),
        Igcv3Block b => Shortcut(Chain(b, path, x), b.HasShortcut, path, x),
        Igcv2Block b => Shortcut(Chain(b, path, x), b.HasShortcut, path, x),
        Network or Sequential or Stage or ConvBn or IgcUnit => Chain(module, path, x),
        _ => throw new NotSupportedException($"onnx export: no export for {module.GetType().Name} at '{path}'"),
    };

    private Value Chain(Module module, string path, Value x)
    {
        foreach (var (name, child) in module.Children) x = Emit(child, Child(path, name), x);
        return x;
    }

    private Value Shortcut(Value h, bool shortcut, string path, Value x) =>
        shortcut ? new Value(_graph.Node("Add", Child(path, "add"), [Materialize(x), Materialize(h)]), h.Channels, h.Height, h.Width) : h;

    // relu(second(first(x)) + shortcut(x)), the shortcut being x itself or a projection.
    private Value Residual(ResidualBlock block, string path, Value x)
    {
        var h = Emit(block.Second, Child(path, "second"), Emit(block.First, Child(path, "first"), x));
        var skip = block.Shortcut is null ? x : Emit(block.Shortcut, Child(path, "shortcut"), x);
        string sum = _graph.Node("Add", Child(path, "add"), [Materialize(h), Materialize(skip)]);
        return new Value(_graph.Node("Relu", Child(path, "relu"), [sum]), h.Channels, h.Height, h.Width);
    }

    private Value Convolution(Conv2d c, string path, Value x)
    {
        var spec = c.Spec;
        int cinPerGroup = c.InChannels / spec.Groups;
        var weight = Array.ConvertAll(WeightLayout.OhwiToOihw(c.Weight.Value.ToFloatArray(), c.OutChannels, spec.Kernel, cinPerGroup), v => (double)v);
        var conv = new FoldedConv(path, Materialize(x), weight, [c.OutChannels, cinPerGroup, spec.Kernel, spec.Kernel], null,
            spec.Stride, spec.Padding, spec.Groups, outputShuffle: 0);
        return Value.Held(conv, spec.OutputSize(x.Height), spec.OutputSize(x.Width));
    }

    private Value Pointwise(PointwiseConv p, string path, Value x)
    {
        string input = Materialize(x);
        if (p.Spec.ShufflesInput) input = Permute(input, Child(path, "input_shuffle"), p.InChannels, p.Spec.InputShuffle, x.Height, x.Width);
        int cinPerGroup = p.InChannels / p.Spec.Groups;
        var weight = Array.ConvertAll(p.Weight.Value.ToFloatArray(), v => (double)v); // [Cout, Cin/g] = OIHW with 1x1
        var conv = new FoldedConv(path, input, weight, [p.OutChannels, cinPerGroup, 1, 1], null, 1, 0, p.Spec.Groups,
            p.Spec.ShufflesOutput ? p.Spec.OutputShuffle : 0);
        return Value.Held(conv, x.Height, x.Width);
    }

    private Value Depthwise(DepthwiseConv3x3 d, string path, Value x)
    {
        var weight = Array.ConvertAll(d.Weight.Value.ToFloatArray(), v => (double)v); // [C, 3, 3] = OIHW [C, 1, 3, 3]
        var conv = new FoldedConv(path, Materialize(x), weight, [d.Channels, 1, 3, 3], null, d.Stride, 1, d.Channels, outputShuffle: 0);
        int size(int s) => (s + 2 - 3) / d.Stride + 1;
        return Value.Held(conv, size(x.Height), size(x.Width));
    }

    private Value Fold(BatchNorm bn, string path, Value x)
    {
        if (x.Pending is not { HasBatchNorm: false } conv)
            throw new NotSupportedException($"onnx export: the batch norm at '{path}' does not follow a convolution, so it cannot be folded");
        conv.FoldBatchNorm(bn);
        return x;
    }

    private Value MaxPooling(MaxPool m, string path, Value x)
    {
        var s = m.Spec;
        string y = _graph.Node("MaxPool", path, [Materialize(x)], OnnxGraph.Ints("kernel_shape", s.Kernel, s.Kernel),
            OnnxGraph.Ints("strides", s.Stride, s.Stride), OnnxGraph.Ints("pads", s.Padding, s.Padding, s.Padding, s.Padding));
        return new Value(y, x.Channels, s.OutputSize(x.Height), s.OutputSize(x.Width));
    }

    // [N, C, H, W] → [N, C, 1, 1] → [N, C]
    private Value AveragePooling(string path, Value x)
    {
        string pooled = _graph.Node("GlobalAveragePool", path, [Materialize(x)]);
        return new Value(_graph.Node("Flatten", Child(path, "flatten"), [pooled], OnnxGraph.Int("axis", 1)), x.Channels, 0, 0);
    }

    // y = x·Wᵀ + b: Gemm with transB, W [Out, In] as we store it.
    private Value Gemm(Linear l, string path, Value x)
    {
        if (!x.Flat) throw new NotSupportedException($"onnx export: the linear layer at '{path}' reads a [N, C, H, W] value");
        var inputs = new List<string> { Materialize(x), _graph.Constant(Child(path, "weight"), l.Weight.Value.ToFloatArray(), l.OutFeatures, l.InFeatures) };
        if (l.Bias is { } bias) inputs.Add(_graph.Constant(Child(path, "bias"), bias.Value.ToFloatArray(), l.OutFeatures));
        return new Value(_graph.Node("Gemm", path, inputs, OnnxGraph.Int("transB", 1)), l.OutFeatures, 0, 0);
    }

    /// <summary>The value's name, writing its held-back convolution first: Conv (batch norm folded)
    /// → the output permutation → the batch norm's activation.</summary>
    private string Materialize(Value v)
    {
        if (v.Pending is not { } conv) return v.Name!;
        var inputs = new List<string> { conv.Input, _graph.Constant(Child(conv.Label, "weight"), ToFloats(conv.Weight), conv.WeightDims) };
        if (conv.Bias is { } bias) inputs.Add(_graph.Constant(Child(conv.Label, "bias"), ToFloats(bias), conv.OutChannels));
        long k = conv.WeightDims[2];
        string y = _graph.Node("Conv", conv.Label, inputs, OnnxGraph.Ints("kernel_shape", k, k), OnnxGraph.Ints("strides", conv.Stride, conv.Stride),
            OnnxGraph.Ints("pads", conv.Padding, conv.Padding, conv.Padding, conv.Padding), OnnxGraph.Int("group", conv.Groups));
        if (!ChannelPermutation.IsIdentity(conv.OutChannels, conv.OutputShuffle))
            y = Permute(y, Child(conv.Label, "shuffle"), conv.OutChannels, conv.OutputShuffle, v.Height, v.Width);
        y = conv.Activation switch
        {
            Activation.Relu => _graph.Node("Relu", Child(conv.Label, "relu"), [y]),
            Activation.Relu6 => _graph.Node("Clip", Child(conv.Label, "relu6"), [y, _zero ??= _graph.Constant("const.zero", [0f]), _six ??= _graph.Constant("const.six", [6f])]),
            _ => y,
        };
        v.Name = y;
        v.Pending = null;
        return y;
    }

    /// <summary>P(G) over the channels of [N, C, H, W]: the channels as a [G, C/G] matrix, transposed.</summary>
    private string Permute(string x, string path, int channels, int groups, int height, int width)
    {
        if (ChannelPermutation.IsIdentity(channels, groups)) return x;
        string split = _graph.Node("Reshape", Child(path, "split"),
            [x, _graph.Constant(Child(path, "split_shape"), [0, groups, channels / groups, height, width], 5)]);
        string transposed = _graph.Node("Transpose", Child(path, "transpose"), [split], OnnxGraph.Ints("perm", 0, 2, 1, 3, 4));
        return _graph.Node("Reshape", path, [transposed, _graph.Constant(Child(path, "merge_shape"), [0, channels, height, width], 4)]);
    }

    private static float[] ToFloats(double[] values) => Array.ConvertAll(values, v => (float)v);
}
