namespace Igcv3.Engine;

/// <summary>Records ops and runs the backward pass over the recorded graph.</summary>
public static class Autograd
{
    /// <summary>Attaches a node to <paramref name="output"/> when any input needs a gradient and
    /// grad mode is on; otherwise records nothing. Returns the output for chaining.</summary>
    internal static Tensor Record(Tensor output, string op, Tensor[] inputs, Action<Tensor> backward)
    {
        if (!GradMode.IsEnabled) return output;
        bool needed = false;
        foreach (var input in inputs) needed |= input.RequiresGrad;
        if (!needed) return output;
        output.RequiresGrad = true;
        output.Creator = new Node(op, inputs, backward);
        return output;
    }

    internal static void Backward(Tensor root, Tensor? seed)
    {
        if (!root.RequiresGrad)
        {
            throw new InvalidOperationException($"backward from {root}: it does not require a gradient (no parameter or input with RequiresGrad feeds it, or it was computed in no-grad mode)");
        }
        if (seed is null)
        {
            if (root.Count != 1) throw new InvalidOperationException($"backward from {root} needs a seed gradient: only a one-element tensor has an implicit seed of 1");
            seed = Tensor.Empty(root.Backend, root.Shape, root.DType);
            root.Backend.Fill(seed, 1.0);
        }
        else if (seed.Shape != root.Shape || seed.DType != root.DType || seed.Backend != root.Backend)
        {
            throw new ArgumentException($"backward seed {seed.Shape} {seed.DType} does not match {root}");
        }
        root.Backend.Accumulate(seed, root.GradForWriting());

        foreach (var tensor in ReverseTopologicalOrder(root))
        {
            var node = tensor.Creator!;
            var grad = tensor.Grad;
            if (grad is null) continue; // nothing flowed into this branch
            node.BackwardFn(grad);
            // An intermediate's gradient is spent once its node has run; drop it so that the
            // memory can go back to the allocator (leaves keep theirs).
            tensor.Grad = null;
        }
    }

    /// <summary>Non-leaf tensors that need a gradient, each after every tensor that consumes it.</summary>
    private static List<Tensor> ReverseTopologicalOrder(Tensor root)
    {
        var order = new List<Tensor>();
        var visited = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        // Iterative post-order DFS: deep networks would overflow a recursive one.
        var stack = new Stack<(Tensor Tensor, int NextInput)>();
        stack.Push((root, 0));
        visited.Add(root);
        while (stack.Count > 0)
        {
            var (tensor, next) = stack.Pop();
            var inputs = tensor.Creator?.Inputs;
            if (inputs is not null && next < inputs.Count)
            {
                stack.Push((tensor, next + 1));
                var input = inputs[next];
                if (input.RequiresGrad && !input.IsLeaf && visited.Add(input)) stack.Push((input, 0));
                continue;
            }
            if (!tensor.IsLeaf) order.Add(tensor);
        }
        order.Reverse();
        return order;
    }
}
