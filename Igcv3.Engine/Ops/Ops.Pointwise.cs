namespace Igcv3.Engine;

public static partial class Ops
{
    /// <summary>Grouped 1x1 convolution with fused IGC permutations:
    /// y = P(Gout) · conv_groups(P(Gin) · x), P(G) the interleave out[j*G + g] = in[g*(C/G) + j]
    /// (<see cref="ChannelPermutation"/>); a shuffle count of 0 or 1 means none.
    /// x [N, H, W, Cin], w [Cout, Cin/groups] → y [N, H, W, Cout]. <paramref name="statistics"/>: the
    /// batch norm that follows asks for y's batch statistics (see <see cref="BatchStatistics"/>).</summary>
    public static Tensor Pointwise(Tensor x, Tensor w, PointwiseSpec spec, BatchStatistics? statistics = null)
    {
        const string op = "pointwise";
        Check.SameDeviceAndType(op, ("x", x), ("w", w));
        Check.Rank(op, "x", x, 4, "[N, H, W, Cin]");
        Check.Rank(op, "w", w, 2, "[Cout, Cin/groups]");
        int groups = spec.Groups, cin = x.Shape[3], cout = w.Shape[0];
        if (groups <= 0) throw Check.Fail(op, $"groups must be positive, got {groups}");
        if (cin % groups != 0) throw Check.Fail(op, $"groups {groups} must divide Cin {cin} of x {x.Shape}");
        if (cout % groups != 0) throw Check.Fail(op, $"groups {groups} must divide Cout {cout} of w {w.Shape}");
        if (w.Shape[1] != cin / groups)
        {
            throw Check.Fail(op, $"w must be [Cout, Cin/groups] = [{cout}, {cin / groups}] for x {x.Shape} and groups {groups}, got {w.Shape}");
        }
        CheckShuffleGroups(op, "input shuffle", spec.InputShuffle, cin, $"Cin of x {x.Shape}");
        CheckShuffleGroups(op, "output shuffle", spec.OutputShuffle, cout, $"Cout of w {w.Shape}");

        var y = Tensor.Empty(x.Backend, [x.Shape[0], x.Shape[1], x.Shape[2], cout], x.DType); // y [N, H, W, Cout]
        x.Backend.PointwiseForward(x, w, y, spec, statistics);
        return Autograd.Record(y, op, [x, w], dy => x.Backend.PointwiseBackward(x, w, dy,
            x.RequiresGrad ? x.GradForWriting() : null,
            w.RequiresGrad ? w.GradForWriting() : null,
            spec));
    }

    /// <summary>The explicit IGC permutation over the last axis: y[.., j*G + g] = x[.., g*(C/G) + j].
    /// Groups 0 or 1 (and G = C) leave the channels in place; the inverse of P(G) is P(C/G).
    /// The networks fuse this into <see cref="Pointwise"/>; the op is the reference that proves it.</summary>
    public static Tensor ChannelShuffle(Tensor x, int groups)
    {
        const string op = "channel_shuffle";
        Check.SameDeviceAndType(op, ("x", x));
        if (x.Shape.Rank == 0) throw Check.Fail(op, $"x must have a channel axis, got scalar shape {x.Shape}");
        CheckShuffleGroups(op, "groups", groups, x.Shape[-1], $"the channels of x {x.Shape}");

        var y = Tensor.Empty(x.Backend, x.Shape, x.DType); // y [.., C]
        x.Backend.ChannelShuffleForward(x, y, groups);
        return Autograd.Record(y, op, [x], dy => x.Backend.ChannelShuffleBackward(dy, x.GradForWriting(), groups));
    }

    /// <summary>A permutation group count: 0 or 1 (none), or a divisor of the channels it permutes.</summary>
    private static void CheckShuffleGroups(string op, string what, int groups, int channels, string channelsDescription)
    {
        if (groups < 0) throw Check.Fail(op, $"{what} must be non-negative (0 or 1 for none), got {groups}");
        if (groups > 1 && channels % groups != 0)
        {
            throw Check.Fail(op, $"{what} {groups} must divide {channelsDescription}, {channels} channels");
        }
    }
}
