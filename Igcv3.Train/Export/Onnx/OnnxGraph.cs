using Onnx;

namespace Igcv3.Train.Export;

/// <summary>
/// Builds one ONNX graph out of the schema's own messages (generated from onnx.proto): nodes in
/// the order they are added (which must be topological), float and int64 initializers, the
/// graph's input and output. Every node's single output is named after the node, and names are
/// checked to be unique, so a wiring mistake fails here rather than in a runtime.
/// </summary>
internal sealed class OnnxGraph
{
    /// <summary>The operator set the nodes are written for (Reshape-14, Clip-13, Gemm-13, Conv-11...).</summary>
    public const long OpsetVersion = 17;

    /// <summary>IR version 8 is the one that opset 17 came with.</summary>
    public const long IrVersion = 8;

    private readonly GraphProto _graph;
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    public OnnxGraph(string name) => _graph = new GraphProto { Name = name };

    /// <summary>A float initializer (constant tensor) with the given dims.</summary>
    public string Constant(string name, float[] values, params long[] dims) =>
        Initializer(name, values.Length, dims, TensorProto.Types.DataType.Float, t => t.FloatData.AddRange(values));

    /// <summary>An int64 initializer (shapes for Reshape).</summary>
    public string Constant(string name, long[] values, params long[] dims) =>
        Initializer(name, values.Length, dims, TensorProto.Types.DataType.Int64, t => t.Int64Data.AddRange(values));

    private string Initializer(string name, int count, long[] dims, TensorProto.Types.DataType type, Action<TensorProto> fill)
    {
        long expected = dims.Aggregate(1L, (a, d) => a * d);
        if (expected != count) throw new InvalidOperationException($"onnx export: '{name}' has {count} values for dims [{string.Join(", ", dims)}]");
        var tensor = new TensorProto { Name = Claim(name), DataType = (int)type };
        tensor.Dims.AddRange(dims);
        fill(tensor);
        _graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>Adds node <paramref name="name"/> running <paramref name="op"/> on
    /// <paramref name="inputs"/>; returns its output's name (the node's).</summary>
    public string Node(string op, string name, IEnumerable<string> inputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = Claim(name) };
        node.Input.AddRange(inputs);
        node.Output.Add(name);
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return name;
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    /// <summary>A float tensor input; a dim of null is symbolic (named <paramref name="dynamicName"/>).</summary>
    public string Input(string name, long?[] dims, string dynamicName)
    {
        _graph.Input.Add(FloatValue(Claim(name), dims, dynamicName));
        return name;
    }

    /// <summary>Declares an already produced value as a graph output.</summary>
    public void Output(string name, long?[] dims, string dynamicName) => _graph.Output.Add(FloatValue(name, dims, dynamicName));

    /// <summary>The model: this graph, the ONNX operator set, the producer and the metadata.</summary>
    public ModelProto ToModel(string docString, IEnumerable<KeyValuePair<string, string>> metadata)
    {
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "Igcv3.Train",
            ProducerVersion = typeof(OnnxGraph).Assembly.GetName().Version?.ToString() ?? "0",
            DocString = docString,
            Graph = _graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OpsetVersion });
        foreach (var (key, value) in metadata) model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return model;
    }

    private static ValueInfoProto FloatValue(string name, long?[] dims, string dynamicName)
    {
        var shape = new TensorShapeProto();
        foreach (long? dim in dims)
            shape.Dim.Add(dim is { } d ? new TensorShapeProto.Types.Dimension { DimValue = d } : new TensorShapeProto.Types.Dimension { DimParam = dynamicName });
        var tensor = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape };
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensor } };
    }

    private string Claim(string name)
    {
        if (!_names.Add(name)) throw new InvalidOperationException($"onnx export: the name '{name}' is used twice in the graph");
        return name;
    }
}
