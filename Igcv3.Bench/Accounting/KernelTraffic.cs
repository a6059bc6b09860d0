namespace Igcv3.Bench.Accounting;

/// <summary>
/// The DRAM bytes one kernel launch must move, computed from its arguments as the launch contract
/// in its kernels-cu unit defines them: every tensor it reads counted once, every tensor it writes
/// once, and a gradient it accumulates into (+=) twice (read and written). Caches are assumed
/// perfect within a launch and empty between launches: this is the traffic a kernel cannot avoid,
/// so the sum over a step is what fusing kernels can reduce, and what a faster kernel cannot.
/// A kernel missing here throws, so a new kernel cannot slip out of the accounting.
/// </summary>
public static class KernelTraffic
{
    private const long F = sizeof(float), D = sizeof(double);

    internal static long Bytes(RecordingQueue.Launched l)
    {
        int I(int i) => l.Int(i);
        // Accesses of a gradient from its kernel's accumulate argument: read and written, or written.
        long Grad(int accumulateArgument) => l.Int(accumulateArgument) != 0 ? 2 : 1;
        long splitsY = l.Grid.Y; // the reductions that split rows over gridDim.y
        string name = l.Kernel;
        // The tile variants (<name>_<BM>x<BN>) move what their family does.
        switch (StepAccount.Family(name))
        {
            case "elementwise_add": return 3 * F * I(3);
            case "elementwise_accumulate": return 3 * F * I(2);
            case "elementwise_activation_forward": return 2 * F * I(2);
            case "elementwise_activation_backward": return F * I(3) * (2 + Grad(5));
            case "elementwise_fill": return F * I(1);

            case "pointwise_forward":
            {
                long m = I(3), cin = I(4), cout = I(5), groups = I(6);
                return F * (m * cin + cout * (cin / groups) + m * cout) + EpilogueStatisticsBytes(l);
            }
            case "pointwise_bf16_forward":
            {
                // x bf16 read, w fp32 read, y bf16 and yf fp32 written where their pointers are non-null.
                long m = I(4), cin = I(5), cout = I(6), groups = I(7);
                long outputBytes = (l.Pointer(2) != 0 ? sizeof(ushort) : 0) + (l.Pointer(3) != 0 ? F : 0);
                return sizeof(ushort) * m * cin + F * cout * (cin / groups) + outputBytes * m * cout;
            }
            case "pointwise_bf16_backward_weight":
            {
                // dy, x bf16 read; each split's fp32 partial written and read back by its tile's last split,
                // which writes (or accumulates into) dw.
                long m = I(5), cin = I(6), cout = I(7), groups = I(8), splits = I(11);
                long count = cout * (cin / groups);
                return sizeof(ushort) * (m * cout + m * cin) + F * (2 * splits * count + Grad(13) * count);
            }
            case "pointwise_bf16_backward_data":
            {
                // dy bf16 read, w fp32 read; dx bf16 and dxf fp32 written (read too when accumulating) where non-null.
                long m = I(4), cin = I(5), cout = I(6), groups = I(7);
                long gradientBytes = ((l.Pointer(2) != 0 ? sizeof(ushort) : 0) + (l.Pointer(3) != 0 ? F : 0)) * Grad(10);
                return sizeof(ushort) * m * cout + F * cout * (cin / groups) + gradientBytes * m * cin;
            }
            case "pointwise_backward_data":
            {
                long m = I(3), cin = I(4), cout = I(5), groups = I(6);
                return F * (m * cout + cout * (cin / groups) + Grad(9) * m * cin);
            }
            case "pointwise_backward_weight":
            {
                // dy and x read; each split's partial written, read back by its tile's last split,
                // which writes (or accumulates into) dw.
                long m = I(5), cin = I(6), cout = I(7), groups = I(8), splits = I(11);
                long count = cout * (cin / groups);
                return F * (m * cout + m * cin + 2 * splits * count + Grad(13) * count);
            }
            case "channel_shuffle_forward": return 2 * F * I(2) * I(3);
            case "channel_shuffle_backward": return F * I(2) * I(3) * (1 + Grad(5));

            case "depthwise3x3_forward":
            {
                var (input, output, c) = Depthwise(l);
                return F * (input + 9 * c + output) + EpilogueStatisticsBytes(l);
            }
            case "depthwise3x3_backward_data":
            {
                var (input, output, c) = Depthwise(l);
                return F * (output + 9 * c + Grad(8) * input);
            }
            case "depthwise3x3_backward_weight":
            {
                var (input, output, c) = Depthwise(l, firstGeometryArgument: 5);
                return F * (output + input + 2 * splitsY * c * 9 + Grad(10) * c * 9);
            }

            case "conv2d_forward":
            {
                var g = Conv(l);
                return F * (g.Input + g.Weights + g.Output);
            }
            case "conv2d_backward_data":
            {
                var g = Conv(l);
                return F * (g.Output + g.Weights + 2 * g.Input);
            }
            case "conv2d_backward_weight":
            {
                var g = Conv(l, firstGeometryArgument: 5);
                long splits = I(14);
                return F * (g.Output + g.Input + 2 * splits * g.Weights + Grad(16) * g.Weights);
            }

            case "batchnorm_forward_stats":
            {
                // x read; each split's partial written, and read back by the last block, which
                // updates the running statistics and writes the saved ones.
                long m = I(3), c = I(4);
                return F * m * c + 2 * 3 * D * splitsY * c + F * c * 6;
            }
            case "batchnorm_eval_stats": return 4 * F * I(4);
            case "batchnorm_forward_apply":
            {
                long m = I(6), c = I(7);
                return F * (2 * m * c + 4 * c);
            }
            case "batchnorm_backward_stats":
            {
                // x and dy read (the mask is recomputed from x), the partials written and read back
                // by the last block, which accumulates dgamma, dbeta and writes the sums.
                long m = I(8), c = I(9);
                int outputs = (l.Pointer(11) != 0 ? 2 : 0) + (l.Pointer(12) != 0 ? 2 : 0) + (l.Pointer(13) != 0 ? 2 : 0);
                return F * (2 * m * c + 4 * c) + 2 * 2 * D * splitsY * c + F * outputs * c;
            }
            case "batchnorm_backward_data":
            {
                long m = I(8), c = I(9);
                bool readsX = I(11) != 0 || I(10) != 0; // the training terms, or the activation's mask
                // dy read, dx written (and read when accumulating), x when needed.
                return F * (((readsX ? 2 : 1) + Grad(12)) * m * c + 6 * c);
            }

            // syncbn.cu: the [C] vectors and the gathered [W, 1 + 2C] rows (combine reads them whole,
            // the correction only their counts).
            case "syncbn_pack": return F * (4L * I(3) + 1);
            case "syncbn_combine":
            {
                long w = I(1), c = I(2);
                return F * (w * (1 + 2 * c) + 6 * c);
            }
            case "syncbn_correction":
            {
                long w = I(4), c = I(5);
                return F * (6 * c + w);
            }

            case "global_avgpool_forward":
            {
                long n = I(2), hw = I(3), c = I(4);
                return F * (n * hw * c + n * c);
            }
            case "global_avgpool_backward":
            {
                long n = I(2), hw = I(3), c = I(4);
                return F * (n * c + Grad(5) * n * hw * c);
            }
            case "maxpool_forward":
            {
                var (input, output) = Pool(l, 2);
                return F * (input + output);
            }
            case "maxpool_backward":
            {
                var (input, output) = Pool(l, 3);
                return F * ((1 + Grad(10)) * input + output);
            }

            case "linear_add_bias":
            {
                long n = I(2), o = I(3);
                return F * (2 * n * o + o);
            }
            case "linear_bias_backward":
            {
                long n = I(2), o = I(3);
                return F * (n * o + 2 * o);
            }
            case "softmax_xent_forward_rows":
            {
                long n = I(4), k = I(5);
                return F * (2 * n * k + 2 * n);
            }
            case "softmax_xent_forward_mean": return F * (I(2) + 1);
            case "softmax_xent_backward":
            {
                long n = I(4), k = I(5);
                return F * ((1 + Grad(7)) * n * k + n + 1);
            }
            case "sgd_step": return 5 * F * I(3); // parameters and momentum read and written, gradients read
            default:
                throw new InvalidOperationException($"no traffic rule for kernel {name}: add one to {nameof(KernelTraffic)} from its launch contract");
        }
    }

    /// <summary>Bytes of a cuBLAS call: A and B read, C written (and read when beta ≠ 0).</summary>
    internal static long Bytes(RecordingQueue.GemmCall g) =>
        F * g.Batch * ((long)g.M * g.K + (long)g.K * g.N + (long)g.M * g.N * (g.Beta != 0 ? 2 : 1));

    /// <summary>(x elements, y elements, channels) of depthwise3x3_*(a, b, c, N, H, W, C, stride), H, W the input's.</summary>
    /// <summary>The part of a forward's bytes that the batch statistics in its epilogue move
    /// (IgcBatchStats; 0 without them, and for every other kernel): each row block's (Σ, Σ²) doubles
    /// written and read back by the last block, which reads and writes the running statistics and
    /// writes the saved ones.</summary>
    internal static long EpilogueStatisticsBytes(RecordingQueue.Launched l)
    {
        long Statistics(int partialArgument, long rowBlocks, long channels) =>
            l.Pointer(partialArgument) == 0 ? 0 : 2 * 2 * D * rowBlocks * channels + 6 * F * channels;
        return StepAccount.Family(l.Kernel) switch
        {
            "pointwise_forward" => Statistics(9, l.Grid.X, l.Int(5)),
            "depthwise3x3_forward" => Statistics(8, l.Grid.Y, l.Int(6)),
            _ => 0,
        };
    }

    /// <summary>depthwise3x3_*(pointers.., N, H, W, C, stride, ...), N at argument
    /// <paramref name="firstGeometryArgument"/> (3 after the three tensors of most of them).</summary>
    private static (long Input, long Output, long Channels) Depthwise(RecordingQueue.Launched l, int firstGeometryArgument = 3)
    {
        int a = firstGeometryArgument;
        long n = l.Int(a), h = l.Int(a + 1), w = l.Int(a + 2), c = l.Int(a + 3), s = l.Int(a + 4);
        long ho = (h - 1) / s + 1, wo = (w - 1) / s + 1;
        return (n * h * w * c, n * ho * wo * c, c);
    }

    private readonly record struct ConvSizes(long Input, long Weights, long Output);

    /// <summary>conv2d_*(pointers.., N, H, W, Cin, Cout, K, S, P, groups, ...), N at argument
    /// <paramref name="firstGeometryArgument"/> (3 after the three tensors of most of them).</summary>
    private static ConvSizes Conv(RecordingQueue.Launched l, int firstGeometryArgument = 3)
    {
        int a = firstGeometryArgument;
        long n = l.Int(a), h = l.Int(a + 1), w = l.Int(a + 2), cin = l.Int(a + 3), cout = l.Int(a + 4), k = l.Int(a + 5), s = l.Int(a + 6), p = l.Int(a + 7), groups = l.Int(a + 8);
        long ho = (h + 2 * p - k) / s + 1, wo = (w + 2 * p - k) / s + 1;
        return new ConvSizes(n * h * w * cin, cout * k * k * (cin / groups), n * ho * wo * cout);
    }

    /// <summary>maxpool_*(..., N, H, W, C, K, S, P) with N at argument <paramref name="first"/>.</summary>
    private static (long Input, long Output) Pool(RecordingQueue.Launched l, int first)
    {
        long n = l.Int(first), h = l.Int(first + 1), w = l.Int(first + 2), c = l.Int(first + 3), k = l.Int(first + 4), s = l.Int(first + 5), p = l.Int(first + 6);
        long ho = (h + 2 * p - k) / s + 1, wo = (w + 2 * p - k) / s + 1;
        return (n * h * w * c, n * ho * wo * c);
    }
}
