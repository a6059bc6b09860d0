namespace Igcv3.Engine;

/// <summary>
/// Frees the temporaries of a region (a training step: activations, saved statistics, intermediate
/// gradients) when the region ends, instead of whenever the garbage collector runs. The collector
/// cannot see device memory, so on a GPU it would let freed activations pile up until an
/// allocation fails; with a scope they go back to the backend's allocator (a caching pool on CUDA
/// and on the CPU, <see cref="Cpu.CpuArrayPool"/>) at the end of every step, for the next to reuse.
/// <code>
/// using (TensorScope.Begin())
/// {
///     var loss = Ops.SoftmaxCrossEntropy(net.Forward(x), labels);
///     loss.Backward();
///     lossValue = loss.Item(); // read what is needed before the scope ends
/// }
/// </code>
/// Every storage allocated on this thread while the scope is the innermost one belongs to it; long-
/// lived state (networks, optimizers) must be created outside scopes, or handed out with
/// <see cref="Keep"/>. Scopes nest; each thread has its own.
/// </summary>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] private static TensorScope? s_current;

    private readonly TensorScope? _parent;
    private readonly List<Storage> _owned = [];
    private bool _disposed;

    private TensorScope(TensorScope? parent) => _parent = parent;

    public static TensorScope Begin() => s_current = new TensorScope(s_current);

    /// <summary>Number of storages this scope will release.</summary>
    public int OwnedCount => _owned.Count;

    /// <summary>Called for every new storage: the innermost scope of this thread takes it.</summary>
    internal static void Track(Storage storage) => s_current?._owned.Add(storage);

    /// <summary>Hands <paramref name="tensor"/>'s storage to the enclosing scope (or to no scope, and
    /// so to the garbage collector), so that it outlives this one.</summary>
    public Tensor Keep(Tensor tensor)
    {
        if (_owned.Remove(tensor.Storage)) _parent?._owned.Add(tensor.Storage);
        return tensor;
    }

    public void Dispose()
    {
        if (_disposed) return;
        if (s_current != this)
        {
            throw new InvalidOperationException("tensor scopes must end in the reverse order of their beginning (a scope was disposed while an inner one is still open)");
        }
        _disposed = true;
        s_current = _parent;
        for (int i = _owned.Count - 1; i >= 0; i--) _owned[i].Dispose();
        _owned.Clear();
    }
}
