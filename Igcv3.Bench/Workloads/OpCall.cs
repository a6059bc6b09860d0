using Igcv3.Engine;

namespace Igcv3.Bench.Workloads;

/// <summary>How an op touches a tensor: read, written, or read and written (a gradient it accumulates into).</summary>
public enum Access { Read, Write, ReadWrite }

/// <summary>One tensor argument of a backend call: its role in the call ("x", "dw"), shape, type and access.</summary>
public sealed record TensorArg(string Role, Shape Shape, DType DType, Access Access)
{
    /// <summary>Bytes this argument must move at least once: read once, written once, or both.</summary>
    public long Bytes => Shape.Count * DType.SizeInBytes() * (Access == Access.ReadWrite ? 2 : 1);
}

/// <summary>
/// One backend call as a training step makes it: the op ("pointwise.backward"), its tensor
/// arguments (null gradients left out, so a call without dx differs from one with), and the
/// settings it was given. Everything a benchmark needs to replay it at the same shapes, and
/// everything the cost model needs: multiply-adds and the fewest bytes it must move.
/// </summary>
public sealed record OpCall(string Op, IReadOnlyList<TensorArg> Args, object? Spec, long MultiplyAdds)
{
    /// <summary>Each input read once, each output written once (accumulated gradients both).</summary>
    public long Bytes => Args.Sum(a => a.Bytes);

    /// <summary>2 floating-point operations per multiply-add (products of convolutions and linear layers only).</summary>
    public long Flops => 2 * MultiplyAdds;

    public TensorArg? Find(string role) => Args.FirstOrDefault(a => a.Role == role);

    public TensorArg Arg(string role) => Find(role) ?? throw new InvalidOperationException($"{Op}: no argument '{role}' in {Key}");

    /// <summary>Stable identity of the call: op, every argument's role and shape, and the settings.
    /// Two calls with the same key do the same work.</summary>
    public string Key => $"{Op} {string.Join(" ", Args.Select(a => $"{a.Role}{a.Shape}"))}{SpecText}";

    /// <summary>The settings as text (" g2 oshuf2", " s2", " relu6 train"), empty when the op has none.</summary>
    public string SpecText => Spec switch
    {
        null => "",
        PointwiseSpec p => $"{(p.Groups > 1 ? $" g{p.Groups}" : "")}{(p.ShufflesInput ? $" ishuf{p.InputShuffle}" : "")}{(p.ShufflesOutput ? $" oshuf{p.OutputShuffle}" : "")}",
        Conv2dSpec c => $" k{c.Kernel} s{c.Stride} p{c.Padding}{(c.Groups > 1 ? $" g{c.Groups}" : "")}",
        BatchNormSpec b => $" {(b.Training ? "train" : "eval")}{(b.Activation == Activation.None ? "" : " " + b.Activation.ToString().ToLowerInvariant())}",
        PoolSpec p => $" k{p.Kernel} s{p.Stride} p{p.Padding}",
        SgdSpec s => $" momentum{s.Momentum}{(s.Nesterov ? " nesterov" : "")} wd{s.WeightDecay}",
        Activation a => $" {a.ToString().ToLowerInvariant()}",
        int stride => $" s{stride}",
        double v => $" {v}",
        _ => " " + Spec,
    };
}
