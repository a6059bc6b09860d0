namespace Igcv3.Kernels.Cuda;

/// <summary>
/// Every kernel the CUDA backend launches, with its parameter kinds as written in the launch
/// contracts of kernels-cu/*.cu. The GEMM kernels exist in tile variants named
/// &lt;name&gt;_&lt;BM&gt;x&lt;BN&gt;; <see cref="GemmTiles"/> picks them.
/// </summary>
internal static class CudaKernels
{
    private const ArgKind P = ArgKind.Pointer, I = ArgKind.Int32, F = ArgKind.Float32;

    private static KernelSignature K(string unit, string name, params ArgKind[] parameters) => new(unit, name, parameters);

    // ---- elementwise.cu ----------------------------------------------------------------------
    public static readonly KernelSignature Add = K("elementwise.cu", "elementwise_add", P, P, P, I);
    public static readonly KernelSignature Accumulate = K("elementwise.cu", "elementwise_accumulate", P, P, I);
    public static readonly KernelSignature ActivationForward = K("elementwise.cu", "elementwise_activation_forward", P, P, I, I);
    public static readonly KernelSignature ActivationBackward = K("elementwise.cu", "elementwise_activation_backward", P, P, P, I, I, I);
    public static readonly KernelSignature Fill = K("elementwise.cu", "elementwise_fill", P, I, I);

    // ---- pointwise.cu --------------------------------------------------------------------------
    // (x, w, y, M, Cin, Cout, groups, inShuffle, outShuffle,
    //  statPartial, statCounters, runningMean, runningVar, saveMean, saveInvStd, momentum, eps)
    public static readonly IReadOnlyDictionary<int, KernelSignature> PointwiseForward = ByTile(bn => K("pointwise.cu", $"pointwise_forward_64x{bn}", P, P, P, I, I, I, I, I, I, P, P, P, P, P, P, F, F));
    // (dy, w, dx, M, Cin, Cout, groups, inShuffle, outShuffle, accumulate)
    public static readonly IReadOnlyDictionary<int, KernelSignature> PointwiseBackwardData = ByTile(bn => K("pointwise.cu", $"pointwise_backward_data_64x{bn}", P, P, P, I, I, I, I, I, I, I));
    // (dy, x, partial, M, Cin, Cout, groups, inShuffle, outShuffle, splits, rowsPerSplit)
    public static readonly IReadOnlyDictionary<(int, int), KernelSignature> PointwiseBackwardWeight = ByTilePair((bm, bn) => K("pointwise.cu", $"pointwise_backward_weight_{bm}x{bn}", P, P, P, P, P, I, I, I, I, I, I, I, I, I));
    public static readonly KernelSignature ChannelShuffleForward = K("pointwise.cu", "channel_shuffle_forward", P, P, I, I, I);
    public static readonly KernelSignature ChannelShuffleBackward = K("pointwise.cu", "channel_shuffle_backward", P, P, I, I, I, I);

    // ---- pointwise_bf16.cu: (x bf16, w, y bf16 or null, yf or null, M, Cin, Cout, groups, inShuffle, outShuffle)
    public static readonly IReadOnlyDictionary<int, KernelSignature> PointwiseBf16Forward = ByTile(bn => K("pointwise_bf16.cu", $"pointwise_bf16_forward_128x{bn}", P, P, P, P, I, I, I, I, I, I));
    // (dy bf16, w, dx bf16 or null, dxf or null, M, Cin, Cout, groups, inShuffle, outShuffle, accumulate)
    public static readonly IReadOnlyDictionary<int, KernelSignature> PointwiseBf16BackwardData = ByTile(bn => K("pointwise_bf16.cu", $"pointwise_bf16_backward_data_128x{bn}", P, P, P, P, I, I, I, I, I, I, I));
    // (dy bf16, x bf16, partial, counters, dw, M, Cin, Cout, groups, inShuffle, outShuffle, splits, rowsPerSplit, accumulate)
    public static readonly IReadOnlyDictionary<int, KernelSignature> PointwiseBf16BackwardWeight = ByTile(bn => K("pointwise_bf16.cu", $"pointwise_bf16_backward_weight_128x{bn}", P, P, P, P, P, I, I, I, I, I, I, I, I, I));

    // ---- depthwise.cu --------------------------------------------------------------------------
    // (in, w, out, N, H, W, C, stride)
    public static readonly KernelSignature DepthwiseForward = K("depthwise.cu", "depthwise3x3_forward", P, P, P, I, I, I, I, I, P, P, P, P, P, P, F, F);
    public static readonly KernelSignature DepthwiseBackwardData = K("depthwise.cu", "depthwise3x3_backward_data", P, P, P, I, I, I, I, I, I);
    public static readonly KernelSignature DepthwiseBackwardWeight = K("depthwise.cu", "depthwise3x3_backward_weight", P, P, P, P, P, I, I, I, I, I, I);

    // ---- conv2d.cu: (a, b, out, N, H, W, Cin, Cout, K, S, P, groups[, splits, rowsPerSplit]) -----
    public static readonly IReadOnlyDictionary<int, KernelSignature> Conv2dForward = ByTile(bn => K("conv2d.cu", $"conv2d_forward_64x{bn}", P, P, P, I, I, I, I, I, I, I, I, I));
    public static readonly IReadOnlyDictionary<int, KernelSignature> Conv2dBackwardData = ByTile(bn => K("conv2d.cu", $"conv2d_backward_data_64x{bn}", P, P, P, I, I, I, I, I, I, I, I, I));
    public static readonly IReadOnlyDictionary<(int, int), KernelSignature> Conv2dBackwardWeight = ByTilePair((bm, bn) => K("conv2d.cu", $"conv2d_backward_weight_{bm}x{bn}", P, P, P, P, P, I, I, I, I, I, I, I, I, I, I, I, I));

    // ---- batchnorm.cu --------------------------------------------------------------------------
    // (x, partial, counter, M, C, momentum, eps, runningMean, runningVar, saveMean, saveInvStd): finalized by its last block
    public static readonly KernelSignature BatchNormForwardStats = K("batchnorm.cu", "batchnorm_forward_stats", P, P, P, I, I, F, F, P, P, P, P);
    public static readonly KernelSignature BatchNormEvalStats = K("batchnorm.cu", "batchnorm_eval_stats", P, P, P, P, I, F);
    // (x, gamma, beta, mean, invStd, y, M, C, act)
    public static readonly KernelSignature BatchNormForwardApply = K("batchnorm.cu", "batchnorm_forward_apply", P, P, P, P, P, P, I, I, I, P);
    // (x, gamma, beta, dy, mean, invStd, partial, counter, M, C, act, dgamma, dbeta, sums): the mask
    // recomputed from x (y not read), finalized by its last block
    public static readonly KernelSignature BatchNormBackwardStats = K("batchnorm.cu", "batchnorm_backward_stats", P, P, P, P, P, P, P, P, I, I, I, P, P, P);
    // (x, gamma, beta, dy, mean, invStd, sums, dx, M, C, act, training, accumulate)
    public static readonly KernelSignature BatchNormBackwardData = K("batchnorm.cu", "batchnorm_backward_data", P, P, P, P, P, P, P, P, I, I, I, I, I);

    // ---- pooling.cu ----------------------------------------------------------------------------
    public static readonly KernelSignature GlobalAvgPoolForward = K("pooling.cu", "global_avgpool_forward", P, P, I, I, I);
    public static readonly KernelSignature GlobalAvgPoolBackward = K("pooling.cu", "global_avgpool_backward", P, P, I, I, I, I);
    public static readonly KernelSignature MaxPoolForward = K("pooling.cu", "maxpool_forward", P, P, I, I, I, I, I, I, I);
    public static readonly KernelSignature MaxPoolBackward = K("pooling.cu", "maxpool_backward", P, P, P, I, I, I, I, I, I, I, I);

    // ---- syncbn.cu ----------------------------------------------------------------------------
    // (mean, invStd, gathered, C, rank, rows, eps)
    public static readonly KernelSignature SyncBatchNormPack = K("syncbn.cu", "syncbn_pack", P, P, P, I, I, F, F);
    // (gathered, W, C, momentum, runningMean, runningVar, mean, var)
    public static readonly KernelSignature SyncBatchNormCombine = K("syncbn.cu", "syncbn_combine", P, I, I, F, P, P, P, P);
    // (sums, gamma, invStd, gathered, W, C, slope, shift)
    public static readonly KernelSignature SyncBatchNormCorrection = K("syncbn.cu", "syncbn_correction", P, P, P, P, I, I, P, P);

    // ---- linear.cu, loss.cu, sgd.cu ------------------------------------------------------------
    public static readonly KernelSignature LinearAddBias = K("linear.cu", "linear_add_bias", P, P, I, I);
    public static readonly KernelSignature LinearBiasBackward = K("linear.cu", "linear_bias_backward", P, P, I, I);
    // (logits, labels, probabilities, rowLoss, N, K, smoothing)
    public static readonly KernelSignature SoftmaxXentForwardRows = K("loss.cu", "softmax_xent_forward_rows", P, P, P, P, I, I, F);
    public static readonly KernelSignature SoftmaxXentForwardMean = K("loss.cu", "softmax_xent_forward_mean", P, P, I);
    // (probabilities, labels, dloss, dlogits, N, K, smoothing, accumulate)
    public static readonly KernelSignature SoftmaxXentBackward = K("loss.cu", "softmax_xent_backward", P, P, P, P, I, I, F, I);
    // (parameters, gradients, momentum, n, decayedCount, lr, mu, weightDecay, nesterov, learningRate)
    public static readonly KernelSignature SgdStep = K("sgd.cu", "sgd_step", P, P, P, I, I, F, F, F, I, P);

    /// <summary>Every declared kernel, tile variants included.</summary>
    public static IReadOnlyList<KernelSignature> All { get; } =
    [
        Add, Accumulate, ActivationForward, ActivationBackward, Fill,
        .. PointwiseForward.Values, .. PointwiseBackwardData.Values, .. PointwiseBackwardWeight.Values,
        ChannelShuffleForward, ChannelShuffleBackward,
        .. PointwiseBf16Forward.Values, .. PointwiseBf16BackwardData.Values, .. PointwiseBf16BackwardWeight.Values,
        DepthwiseForward, DepthwiseBackwardData, DepthwiseBackwardWeight,
        .. Conv2dForward.Values, .. Conv2dBackwardData.Values, .. Conv2dBackwardWeight.Values,
        BatchNormForwardStats, BatchNormEvalStats, BatchNormForwardApply,
        BatchNormBackwardStats, BatchNormBackwardData,
        SyncBatchNormPack, SyncBatchNormCombine, SyncBatchNormCorrection,
        GlobalAvgPoolForward, GlobalAvgPoolBackward, MaxPoolForward, MaxPoolBackward,
        LinearAddBias, LinearBiasBackward, SoftmaxXentForwardRows, SoftmaxXentForwardMean, SoftmaxXentBackward, SgdStep,
    ];

    /// <summary>The compilation units the backend needs.</summary>
    public static IReadOnlyList<string> Units { get; } = All.Select(k => k.Unit).Distinct().Order(StringComparer.Ordinal).ToArray();

    private static Dictionary<int, KernelSignature> ByTile(Func<int, KernelSignature> make) =>
        GemmTiles.Sizes.ToDictionary(t => t, make);

    private static Dictionary<(int, int), KernelSignature> ByTilePair(Func<int, int, KernelSignature> make) =>
        GemmTiles.Sizes.SelectMany(bm => GemmTiles.Sizes.Select(bn => (bm, bn))).ToDictionary(p => p, p => make(p.bm, p.bn));
}
