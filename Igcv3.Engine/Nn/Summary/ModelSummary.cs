using System.Globalization;
using System.Text;

namespace Igcv3.Engine.Nn;

/// <summary>One leaf layer of a network: its hierarchical name ("stages.2.blocks.3.dw"), its kind,
/// its output shape, its own trainable parameters and its multiply-adds at the summary's input.</summary>
public sealed record LayerSummary(string Name, string Kind, Shape Output, long Parameters, long MultiplyAdds);

/// <summary>
/// Per-layer output shapes, parameters and multiply-adds of a network, with totals.
/// Computed by shape inference: the network's forward runs once on a shape-only backend (no data,
/// no arithmetic, no gradient), with every parameter temporarily swapped for a shape-only tensor
/// and restored afterwards, while a <see cref="LayerRecorder"/> notes each leaf layer's input and
/// output shapes. So it costs nothing at 224x224, works on a network whether or not it is bound
/// to a <see cref="ParameterSet"/> (on any device), and cannot disagree with the real forward.
/// Multiply-adds count convolution and linear products only (the papers' "FLOPs").
/// </summary>
public sealed class ModelSummary
{
    private ModelSummary(Shape input, Shape output, IReadOnlyList<LayerSummary> layers)
    {
        Input = input;
        Output = output;
        Layers = layers;
        TotalParameters = layers.Sum(l => l.Parameters);
        TotalMultiplyAdds = layers.Sum(l => l.MultiplyAdds);
    }

    public Shape Input { get; }

    public Shape Output { get; }

    public IReadOnlyList<LayerSummary> Layers { get; }

    /// <summary>Trainable parameters of the layers the forward ran, summed over the rows: equal to
    /// the network's own count (PyTorch's sum(p.numel())) exactly when every parameter belongs to a
    /// layer that runs once, which the summary tests check for every network.</summary>
    public long TotalParameters { get; }

    public long TotalMultiplyAdds { get; }

    /// <summary>Summarises <paramref name="network"/> for an NHWC input of shape
    /// <paramref name="input"/>, typically [1, H, W, 3].</summary>
    public static ModelSummary Of(Module network, Shape input)
    {
        if (input.Rank < 1) throw new ArgumentException($"summary: input must have a batch axis, got shape {input}");
        var names = new Dictionary<Module, string>(ReferenceEqualityComparer.Instance);
        foreach (var (name, module) in network.NamedModules()) names.TryAdd(module, name);

        var slots = network.NamedSlots().Select(s => s.Parameter).ToList();
        var saved = new Tensor?[slots.Count];
        var meta = ShapeOnlyBackend.Instance;
        Shape output;
        IReadOnlyList<(Layer Layer, Shape Input, Shape Output)> records;
        try
        {
            for (int i = 0; i < slots.Count; i++) saved[i] = slots[i].Swap(Tensor.Zeros(meta, slots[i].Shape));
            using var noGrad = GradMode.NoGrad();
            using var recorder = LayerRecorder.Start();
            output = network.Forward(Tensor.Zeros(meta, input)).Shape;
            records = recorder.Records;
        }
        finally
        {
            for (int i = 0; i < slots.Count; i++) slots[i].Swap(saved[i]);
        }

        var layers = records.Select(r => new LayerSummary(
            names.TryGetValue(r.Layer, out var name) ? name : r.Layer.GetType().Name,
            r.Layer.GetType().Name,
            r.Output,
            r.Layer.NamedParameters().Sum(p => p.Parameter.Shape.Count),
            r.Layer.MultiplyAdds(r.Input, r.Output))).ToList();
        return new ModelSummary(input, output, layers);
    }

    /// <summary>An aligned text table: one row per leaf layer, then the totals.</summary>
    public string Format()
    {
        static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
        var rows = new List<string[]> { new[] { "layer", "kind", "output", "params", "mult-adds" } };
        rows.AddRange(Layers.Select(l => new[] { l.Name, l.Kind, l.Output.ToString(), N(l.Parameters), N(l.MultiplyAdds) }));
        var total = new[] { "total", "", Output.ToString(), N(TotalParameters), N(TotalMultiplyAdds) };
        int[] widths = Enumerable.Range(0, 5).Select(c => rows.Append(total).Max(r => r[c].Length)).ToArray();
        bool[] right = [false, false, false, true, true];

        var sb = new StringBuilder();
        void Line(string[] r)
        {
            for (int c = 0; c < r.Length; c++)
            {
                if (c > 0) sb.Append("  ");
                sb.Append(right[c] ? r[c].PadLeft(widths[c]) : r[c].PadRight(widths[c]));
            }
            sb.Append('\n');
        }
        string rule = new('-', widths.Sum() + 2 * (widths.Length - 1));
        Line(rows[0]);
        sb.Append(rule).Append('\n');
        foreach (var r in rows.Skip(1)) Line(r);
        sb.Append(rule).Append('\n');
        Line(total);
        sb.Append(CultureInfo.InvariantCulture, $"input {Input}, multiply-adds at batch {Input[0]}\n");
        return sb.ToString();
    }
}
