namespace Igcv3.Engine;

/// <summary>One recorded op: its inputs and a closure that, given the gradient of the op's output,
/// accumulates the gradients of those inputs that need one (micrograd's <c>_backward</c>).</summary>
public sealed class Node
{
    internal Node(string op, Tensor[] inputs, Action<Tensor> backward)
    {
        Op = op;
        Inputs = inputs;
        BackwardFn = backward;
    }

    /// <summary>The op's name, for error messages and debugging.</summary>
    public string Op { get; }

    public IReadOnlyList<Tensor> Inputs { get; }

    internal Action<Tensor> BackwardFn { get; }
}
