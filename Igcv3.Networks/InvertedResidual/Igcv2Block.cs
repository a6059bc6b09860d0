using Igcv3.Engine;
using Igcv3.Engine.Nn;

namespace Igcv3.Networks;

/// <summary>
/// IGCV2 interleaved structured sparse block — OUR construction: the authors published neither
/// code nor a network table, so this follows the paper's kernel W = P_L W_L ⋯ P_2 W_2 P_1 W_1.
/// x [N,H,W,Cin] → [N,H/s,W/s,Cout]:
/// <code>
/// dw      W_1: 3x3 depthwise, stride s (P_1 = identity: after a channel-wise conv a permutation
///         only relabels channels)                        dw_bn  BN → ReLU6
/// mix.l   W_l, l = 2..L: 1x1 group convs with K_l input channels per group (Cin/K_l groups),
///         Cin → Cin, the last Cin → Cout; P_l = the interleave over the previous conv's group
///         count, fused as that conv's output shuffle. No BN between them: together they are one
///         structured sparse kernel.                      mix_bn BN (linear, as MobileNetV2's
///         bottleneck)                                    + x when the block has a shortcut
/// </code>
/// Complementary condition ∏ K_l = Cin: every output channel reaches every input channel by
/// exactly one path (checked by a test that multiplies the connectivity matrices). The block takes
/// (L, K_2..K_L) as given, or L alone, and then the K_l are the most balanced ordered
/// factorisation of Cin (smallest largest factor) for which the last convolution's groups divide
/// Cout: what the network builder uses, since each block of a network has its own Cin.
/// </summary>
public sealed class Igcv2Block : Module
{
    /// <summary>A block of L = <paramref name="depth"/> convolutions, the K_l chosen by <see cref="Factorise"/>.</summary>
    public Igcv2Block(int inChannels, int outChannels, int stride, bool shortcut, int depth, InitScheme init)
        : this(inChannels, outChannels, stride, shortcut, FactoriseForDepth(inChannels, outChannels, depth), init) { }

    /// <summary>A block with the given K_2..K_L (<paramref name="channelsPerGroup"/>, L − 1 of them):
    /// their product must be Cin, and the last convolution's group count Cin/K_L must divide Cout.</summary>
    public Igcv2Block(int inChannels, int outChannels, int stride, bool shortcut, IReadOnlyList<int> channelsPerGroup, InitScheme init)
    {
        if (shortcut && (stride != 1 || inChannels != outChannels))
        {
            throw new ArgumentException($"igcv2 block: a shortcut needs stride 1 and equal widths, got stride {stride}, {inChannels} → {outChannels}");
        }
        CheckComplementary(inChannels, outChannels, channelsPerGroup);
        HasShortcut = shortcut;
        ChannelsPerGroup = [.. channelsPerGroup];
        Depthwise = Add("dw", Build.Named("dw", () => new DepthwiseConv3x3(inChannels, stride, Inits.Conv(init, inChannels, 3, 1))));
        DepthwiseBn = Add("dw_bn", new BatchNorm(inChannels, Activation.Relu6));
        Mix = Add("mix", new Sequential());
        for (int l = 0; l < ChannelsPerGroup.Count; l++)
        {
            bool last = l == ChannelsPerGroup.Count - 1;
            int k = ChannelsPerGroup[l], groups = inChannels / k, outs = last ? outChannels : inChannels;
            int index = l;
            Mix.Append(Build.Named($"mix.{index}", () => new PointwiseConv(inChannels, outs, groups,
                outputShuffle: last || groups == 1 ? 0 : groups, init: Inits.Conv(init, outs, 1, k))));
        }
        MixBn = Add("mix_bn", new BatchNorm(outChannels));
    }

    public bool HasShortcut { get; }

    /// <summary>K_2 … K_L: input channels per group of each group 1x1 conv; their product is Cin.</summary>
    public IReadOnlyList<int> ChannelsPerGroup { get; }

    public DepthwiseConv3x3 Depthwise { get; }

    public BatchNorm DepthwiseBn { get; }

    public Sequential Mix { get; }

    public BatchNorm MixBn { get; }

    public override Tensor Forward(Tensor x)
    {
        var h = DepthwiseBn.Forward(Depthwise, x);           // [N, H/s, W/s, Cin]; the conv computes the BN's batch statistics
        h = MixBn.Forward(Mix.Forward(h));                    // [N, H/s, W/s, Cout]
        return HasShortcut ? Ops.Add(x, h) : h;
    }

    private static IReadOnlyList<int> FactoriseForDepth(int inChannels, int outChannels, int depth) =>
        depth < 2
            ? throw new ArgumentException($"igcv2 block: L must be ≥ 2 (a depthwise conv and at least one group 1x1 conv), got {depth}")
            : Factorise(inChannels, outChannels, depth - 1);

    /// <summary>The complementary condition and the divisibility the convolutions need, each failure naming the K_l.</summary>
    private static void CheckComplementary(int inChannels, int outChannels, IReadOnlyList<int> k)
    {
        string ks = $"K = ({string.Join(", ", k)})";
        if (k.Count == 0) throw new ArgumentException("igcv2 block: needs at least one group 1x1 conv (K_2), got none");
        if (k.Any(v => v < 1 || inChannels % v != 0)) throw new ArgumentException($"igcv2 block: every K_l must divide the {inChannels} input channels, got {ks}");
        long product = k.Aggregate(1L, (a, v) => a * v);
        if (product != inChannels)
            throw new ArgumentException($"igcv2 block: the complementary condition needs ∏ K_l = {inChannels} input channels, got {ks} with product {product}");
        if (outChannels % (inChannels / k[^1]) != 0)
            throw new ArgumentException($"igcv2 block: the last conv's {inChannels / k[^1]} groups (Cin / K_L) must divide the {outChannels} output channels, got {ks}");
    }

    /// <summary>Ordered factors K_2..K_L of <paramref name="channels"/> (product exact), most
    /// balanced first, such that the last conv's group count Cin/K_L divides <paramref name="outChannels"/>.</summary>
    public static IReadOnlyList<int> Factorise(int channels, int outChannels, int count)
    {
        int[]? best = null;
        var current = new int[count];
        void Search(int position, int remaining)
        {
            if (position == count - 1)
            {
                current[position] = remaining;
                if (outChannels % (channels / remaining) != 0) return;
                if (best is null || Better(current, best)) best = (int[])current.Clone();
                return;
            }
            for (int k = remaining; k >= 1; k--)
            {
                if (remaining % k != 0) continue;
                current[position] = k;
                Search(position + 1, remaining / k);
            }
        }
        Search(0, channels);
        return best ?? throw new ArgumentException(
            $"igcv2 block: no factorisation of {channels} input channels into {count} group sizes whose last group count divides {outChannels} output channels");
    }

    // Smaller largest factor wins; ties go to the lexicographically larger tuple (larger groups first).
    private static bool Better(int[] a, int[] b)
    {
        int ma = a.Max(), mb = b.Max();
        if (ma != mb) return ma < mb;
        for (int i = 0; i < a.Length; i++)
        {
            if (a[i] != b[i]) return a[i] > b[i];
        }
        return false;
    }
}
