namespace Igcv3.Engine.Nn;

/// <summary>
/// A leaf layer (convolution, batch norm, pooling, linear): one op with its own parameters. Its
/// <see cref="Forward"/> reports the input and output shapes to the active
/// <see cref="LayerRecorder"/>, which is how <see cref="ModelSummary"/> learns every layer's
/// output shape and multiply-adds without any per-network shape code.
/// </summary>
public abstract class Layer : Module
{
    public sealed override Tensor Forward(Tensor x) => Recorded(x, Compute(x));

    protected abstract Tensor Compute(Tensor x);

    /// <summary>Reports this layer's call from <paramref name="x"/> to <paramref name="y"/>, for
    /// forwards other than <see cref="Forward"/> (a producer computing batch statistics).</summary>
    protected Tensor Recorded(Tensor x, Tensor y)
    {
        LayerRecorder.Current?.Record(this, x.Shape, y.Shape);
        return y;
    }

    /// <summary>Multiply-accumulate operations of one forward from <paramref name="input"/> to
    /// <paramref name="output"/> (the whole batch). Convolutions and linear layers count their
    /// products; normalisation and pooling count 0, the convention of the MobileNetV2 and IGC papers.</summary>
    public virtual long MultiplyAdds(Shape input, Shape output) => 0;
}

/// <summary>A layer whose output a batch norm can ask for the batch statistics of, computed with
/// the output in the layer's own kernel (<see cref="BatchStatistics"/>, <see cref="BatchNorm.Forward(IBatchStatisticsProducer, Tensor)"/>).</summary>
public interface IBatchStatisticsProducer
{
    /// <summary>The layer's forward; with <paramref name="statistics"/>, also the batch statistics of its output where its backend can.</summary>
    Tensor Forward(Tensor x, BatchStatistics? statistics);
}

/// <summary>Collects (layer, input shape, output shape) for every leaf layer run on this thread
/// while it is active: <c>using (var r = LayerRecorder.Start()) net.Forward(x);</c></summary>
public sealed class LayerRecorder : IDisposable
{
    [ThreadStatic] private static LayerRecorder? s_current;

    private readonly LayerRecorder? _previous;
    private readonly List<(Layer Layer, Shape Input, Shape Output)> _records = [];

    private LayerRecorder(LayerRecorder? previous) => _previous = previous;

    public static LayerRecorder? Current => s_current;

    public static LayerRecorder Start() => s_current = new LayerRecorder(s_current);

    /// <summary>Every call recorded, in execution order.</summary>
    public IReadOnlyList<(Layer Layer, Shape Input, Shape Output)> Records => _records;

    internal void Record(Layer layer, Shape input, Shape output) => _records.Add((layer, input, output));

    public void Dispose()
    {
        if (s_current == this) s_current = _previous;
    }
}
