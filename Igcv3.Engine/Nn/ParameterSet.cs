namespace Igcv3.Engine.Nn;

/// <summary>
/// Every parameter of a network in ONE contiguous buffer, their gradients in a second of the same
/// layout, and the buffers (BN running statistics) in a third, each slot a named view (llm.c's
/// layout). Zero-grad is one fill; the optimizer is one pass over a flat buffer. Parameters subject
/// to weight decay come first, so an optimizer can exempt the rest (BN gamma/beta, biases) with a
/// single boundary, <see cref="DecayedCount"/>.
/// </summary>
public sealed class ParameterSet
{
    private ParameterSet(IBackend backend, Tensor values, Tensor gradients, Tensor buffers,
        IReadOnlyList<(string, Parameter)> parameters, IReadOnlyList<(string, Parameter)> bufferSlots, long decayedCount)
    {
        Backend = backend;
        Values = values;
        Gradients = gradients;
        Buffers = buffers;
        Parameters = parameters;
        BufferSlots = bufferSlots;
        DecayedCount = decayedCount;
    }

    public IBackend Backend { get; }

    /// <summary>All trainable values, flat [P].</summary>
    public Tensor Values { get; }

    /// <summary>All gradients, flat [P], same layout as <see cref="Values"/>.</summary>
    public Tensor Gradients { get; }

    /// <summary>All buffers (running statistics), flat [B].</summary>
    public Tensor Buffers { get; }

    /// <summary>Trainable parameters in buffer order: decayed ones first.</summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> Parameters { get; }

    public IReadOnlyList<(string Name, Parameter Parameter)> BufferSlots { get; }

    /// <summary>Number of leading elements of <see cref="Values"/> that weight decay applies to when
    /// BN and bias parameters are exempt.</summary>
    public long DecayedCount { get; }

    public long Count => Values.Count;

    /// <summary>Lays out and initialises every parameter and buffer of <paramref name="module"/>.
    /// Values are drawn on the host from one generator seeded with <paramref name="seed"/>, in
    /// declaration order (independent of the layout), so the same seed gives the same network on
    /// every backend.</summary>
    public static ParameterSet Create(Module module, IBackend backend, int seed, DType dtype = DType.F32)
    {
        var slots = module.NamedSlots().ToList();
        var trainable = slots.Where(s => s.Parameter.Trainable).ToList();
        var ordered = trainable.Where(s => s.Parameter.Decay).Concat(trainable.Where(s => !s.Parameter.Decay)).ToList();
        var buffers = slots.Where(s => !s.Parameter.Trainable).ToList();
        foreach (var (name, p) in slots)
        {
            if (p.IsBound) throw new InvalidOperationException($"parameter '{name}' already belongs to a ParameterSet; build a new network instead of binding one twice");
        }

        long total = ordered.Sum(s => s.Parameter.Shape.Count);
        long bufferTotal = buffers.Sum(s => s.Parameter.Shape.Count);
        var values = Tensor.Zeros(backend, [checked((int)total)], dtype);
        var gradients = Tensor.Zeros(backend, [checked((int)total)], dtype);
        var bufferValues = Tensor.Zeros(backend, [checked((int)bufferTotal)], dtype);

        long offset = 0;
        foreach (var (name, p) in ordered)
        {
            var view = Tensor.View(values.Storage, offset, p.Shape);
            view.Name = name;
            view.BindGradient(Tensor.View(gradients.Storage, offset, p.Shape));
            p.Bind(view);
            offset += p.Shape.Count;
        }
        long decayed = ordered.Where(s => s.Parameter.Decay).Sum(s => s.Parameter.Shape.Count);

        offset = 0;
        foreach (var (name, p) in buffers)
        {
            var view = Tensor.View(bufferValues.Storage, offset, p.Shape);
            view.Name = name;
            p.Bind(view);
            offset += p.Shape.Count;
        }

        // Uploaded straight into the views: a temporary tensor per slot would be left to the
        // garbage collector, which on a GPU frees it at some later, arbitrary step.
        var random = new Random(seed);
        foreach (var (_, p) in slots) p.Value.UploadDoubles(p.Init.Sample(p.Shape, random));
        return new ParameterSet(backend, values, gradients, bufferValues, ordered, buffers, decayed);
    }

    /// <summary>Sets every gradient to zero: one fill over the flat gradient buffer.</summary>
    public void ZeroGrad() => Backend.Fill(Gradients, 0);
}
