namespace Igcv3.Engine.Cpu;

/// <summary>
/// The reference of the bf16 1x1 convolution (kernels-cu/pointwise_bf16.cu): the fp32 op of
/// CpuBackend.Pointwise.cs with bf16 storage, rounding at the points where the kernel rounds:
///
///     v[m, o] = Σ_k bf16(w[o, k]) · x[m, inSource[g(o)·Cin/G + k]]    (x is bf16 already; exact
///                                                                      products, summed in double)
///     yFloat[m, outDestination[o]] = (float)v[m, o];   y[m, outDestination[o]] = bf16((float)v[m, o])
///
/// The kernel sums in fp32 on the tensor cores, so the two differ by fp32 accumulation error in
/// yFloat, and y by at most one bf16 ulp where v lies that close to a rounding midpoint.
/// The data and weight gradients likewise (<see cref="PointwiseBackwardDataBf16"/>,
/// <see cref="PointwiseBackwardWeightBf16"/>). Plain loops: a
/// reference, not a fast path.
/// </summary>
public sealed partial class CpuBackend
{
    /// <summary>The bf16 1x1 convolution: x BF16 [.., Cin], w F32 [Cout, Cin/groups], outputs
    /// <paramref name="y"/> BF16 and/or <paramref name="yFloat"/> F32 [.., Cout] (overwrite).</summary>
    public void PointwiseForwardBf16(Tensor x, Tensor w, Tensor? y, Tensor? yFloat, PointwiseSpec spec)
    {
        var output = CheckPointwiseBf16(x, w, y, yFloat, spec);
        var layout = new PointwiseLayout(x, w, spec);
        if (output.Count != (long)layout.Rows * layout.Cout)
        {
            throw new ArgumentException($"pointwise bf16: the output {output.Shape} must hold {layout.Rows} rows of {layout.Cout}");
        }
        int cin = layout.Cin, cout = layout.Cout, cinG = layout.CinPerGroup, coutG = layout.CoutPerGroup;
        int[] inSource = layout.InputSource, outDest = layout.OutputDestination;
        float[] wq = WeightsRoundedToBf16(w);
        Memory<ushort> mx = Memory<ushort>(x);
        Memory<ushort> my = y is null ? default : Memory<ushort>(y);
        Memory<float> myf = yFloat is null ? default : Memory<float>(yFloat);

        ParallelBlocks.For(layout.Rows, (start, end) =>
        {
            ReadOnlySpan<ushort> sx = mx.Span;
            Span<ushort> sy = my.Span;
            Span<float> syf = myf.Span;
            var u = new float[cin]; // the row in conv-input order, widened (exact)
            for (int m = start; m < end; m++)
            {
                for (int c = 0; c < cin; c++) u[c] = BFloat16.ToSingle(sx[m * cin + inSource[c]]);
                for (int o = 0; o < cout; o++)
                {
                    int first = o / coutG * cinG;
                    double sum = 0;
                    for (int k = 0; k < cinG; k++) sum += (double)wq[o * cinG + k] * u[first + k];
                    float z = (float)sum;
                    int d = m * cout + outDest[o];
                    if (!syf.IsEmpty) syf[d] = z;
                    if (!sy.IsEmpty) sy[d] = BFloat16.FromSingle(z);
                }
            }
        }, workPerItem: (long)cout * Math.Max(1, cinG));
    }

    /// <summary>The data gradient of <see cref="PointwiseForwardBf16"/>, rounding where the kernel does:
    ///     dz[m, o] = dy[m, outDestination[o]]   (dy BF16 [.., Cout])
    ///     s[m, inSource[g·Cin/G + k]] = Σ_{o in group g} dz[m, o] · bf16(w[o, k])   (double)
    ///     dxFloat = (accumulate ? dxFloat + (float)s : (float)s);  dx = bf16(accumulate ? float(dx) + (float)s : (float)s)
    /// </summary>
    public void PointwiseBackwardDataBf16(Tensor dy, Tensor w, Tensor? dx, Tensor? dxFloat, PointwiseSpec spec, bool accumulate)
    {
        var output = CheckPointwiseBf16Data(dy, w, dx, dxFloat, spec);
        var layout = new PointwiseLayout(output, w, spec);
        if (dy.Count != (long)layout.Rows * layout.Cout)
        {
            throw new ArgumentException($"pointwise bf16 data gradient: dy {dy.Shape} must hold {layout.Rows} rows of {layout.Cout}");
        }
        int cin = layout.Cin, cout = layout.Cout, cinG = layout.CinPerGroup, coutG = layout.CoutPerGroup;
        int[] inSource = layout.InputSource, outDest = layout.OutputDestination;
        float[] wq = WeightsRoundedToBf16(w);
        Memory<ushort> mdy = Memory<ushort>(dy);
        Memory<ushort> mdx = dx is null ? default : Memory<ushort>(dx);
        Memory<float> mdxf = dxFloat is null ? default : Memory<float>(dxFloat);

        ParallelBlocks.For(layout.Rows, (start, end) =>
        {
            ReadOnlySpan<ushort> sdy = mdy.Span;
            Span<ushort> sdx = mdx.Span;
            Span<float> sdxf = mdxf.Span;
            var sums = new double[cin]; // in conv-input order
            for (int m = start; m < end; m++)
            {
                Array.Clear(sums);
                for (int o = 0; o < cout; o++)
                {
                    double dz = BFloat16.ToSingle(sdy[m * cout + outDest[o]]);
                    int first = o / coutG * cinG;
                    for (int k = 0; k < cinG; k++) sums[first + k] += dz * wq[o * cinG + k];
                }
                for (int c = 0; c < cin; c++)
                {
                    float v = (float)sums[c];
                    int d = m * cin + inSource[c];
                    if (!sdxf.IsEmpty) sdxf[d] = accumulate ? sdxf[d] + v : v;
                    if (!sdx.IsEmpty) sdx[d] = BFloat16.FromSingle(accumulate ? BFloat16.ToSingle(sdx[d]) + v : v);
                }
            }
        }, workPerItem: (long)cout * Math.Max(1, cinG));
    }

    /// <summary>The weight gradient of <see cref="PointwiseForwardBf16"/>, in fp32 for the master weights:
    ///     dw[o, k] += Σ_m dy[m, outDestination[o]] · x[m, inSource[g(o)·Cin/G + k]]   (x, dy BF16; double sums)
    /// An unwritten dw (<see cref="Tensor.IsUnwritten"/>) is zeroed first, as the fp32 op does.</summary>
    public void PointwiseBackwardWeightBf16(Tensor x, Tensor dy, Tensor dw, PointwiseSpec spec)
    {
        CheckPointwiseBf16Weight(x, dy, dw, spec);
        ZeroUnwritten(dw);
        var layout = new PointwiseLayout(x, dw, spec);
        if (dy.Count != (long)layout.Rows * layout.Cout)
        {
            throw new ArgumentException($"pointwise bf16 weight gradient: dy {dy.Shape} must hold {layout.Rows} rows of {layout.Cout}");
        }
        int cin = layout.Cin, cout = layout.Cout, cinG = layout.CinPerGroup, coutG = layout.CoutPerGroup;
        int[] inSource = layout.InputSource, outDest = layout.OutputDestination;
        ReadOnlySpan<ushort> sx = Span<ushort>(x), sdy = Span<ushort>(dy);
        Span<float> sdw = Span<float>(dw);
        var sums = new double[sdw.Length];
        for (int m = 0; m < layout.Rows; m++)
        {
            for (int o = 0; o < cout; o++)
            {
                double dz = BFloat16.ToSingle(sdy[m * cout + outDest[o]]);
                int first = o / coutG * cinG;
                for (int k = 0; k < cinG; k++) sums[o * cinG + k] += dz * BFloat16.ToSingle(sx[m * cin + inSource[first + k]]);
            }
        }
        for (int i = 0; i < sdw.Length; i++) sdw[i] += (float)sums[i];
    }

    /// <summary>The checks of the bf16 weight gradient, shared with the CUDA backend's.</summary>
    internal static void CheckPointwiseBf16Weight(Tensor x, Tensor dy, Tensor dw, PointwiseSpec spec)
    {
        const string op = "pointwise bf16 weight gradient";
        if (dy.DType != DType.BF16) throw new ArgumentException($"{op}: dy must be BF16, got {dy.DType}; convert it with BFloat16.FromSingle or use the fp32 pointwise ops");
        if (dw.DType != DType.F32) throw new ArgumentException($"{op}: dw must be F32 (the fp32 master weights' gradient), got {dw.DType}");
        // x in the input's place, dw in the weights' and the output's: the same geometry checks.
        CheckBf16(op, x, "x", dw, null, "", dw, "dw", x.Shape[-1], spec);
    }

    /// <summary>The checks of the bf16 forward, shared with the CUDA backend's; returns the output
    /// whose shape the geometry is checked against.</summary>
    internal static Tensor CheckPointwiseBf16(Tensor x, Tensor w, Tensor? y, Tensor? yFloat, PointwiseSpec spec) =>
        CheckBf16("pointwise bf16", x, "x", w, y, "y", yFloat, "yFloat", x.Shape[-1], spec);

    /// <summary>The checks of the bf16 data gradient, shared with the CUDA backend's; returns the
    /// gradient whose shape the geometry is checked against.</summary>
    internal static Tensor CheckPointwiseBf16Data(Tensor dy, Tensor w, Tensor? dx, Tensor? dxFloat, PointwiseSpec spec) =>
        CheckBf16("pointwise bf16 data gradient", dy, "dy", w, dx, "dx", dxFloat, "dxFloat", (dx ?? dxFloat)?.Shape[-1] ?? 0, spec);

    private static Tensor CheckBf16(string op, Tensor input, string inputName, Tensor w, Tensor? out16, string out16Name, Tensor? out32, string out32Name,
                                    int cin, PointwiseSpec spec)
    {
        if (input.DType != DType.BF16) throw new ArgumentException($"{op}: {inputName} must be BF16, got {input.DType}; convert it with BFloat16.FromSingle or use the fp32 pointwise ops");
        if (w.DType != DType.F32) throw new ArgumentException($"{op}: w must be F32 (the fp32 master weights), got {w.DType}");
        if (out16 is null && out32 is null) throw new ArgumentException($"{op}: no output given: pass {out16Name} (BF16), {out32Name} (F32) or both");
        if (out16 is not null && out16.DType != DType.BF16) throw new ArgumentException($"{op}: {out16Name} must be BF16, got {out16.DType}");
        if (out32 is not null && out32.DType != DType.F32) throw new ArgumentException($"{op}: {out32Name} must be F32, got {out32.DType}");
        if (out16 is not null && out32 is not null && !out16.Shape.Equals(out32.Shape))
            throw new ArgumentException($"{op}: {out16Name} {out16.Shape} and {out32Name} {out32.Shape} must have one shape");
        int cout = w.Shape[0], groups = spec.Groups;
        if (groups <= 0 || cin % groups != 0 || cout % groups != 0) throw new ArgumentException($"{op}: groups {groups} must divide Cin {cin} and Cout {cout}");
        if (spec.InputShuffle > 1 && cin % spec.InputShuffle != 0) throw new ArgumentException($"{op}: input shuffle {spec.InputShuffle} must divide Cin {cin}");
        if (spec.OutputShuffle > 1 && cout % spec.OutputShuffle != 0) throw new ArgumentException($"{op}: output shuffle {spec.OutputShuffle} must divide Cout {cout}");
        if (w.Count != (long)cout * (cin / groups)) throw new ArgumentException($"{op}: w {w.Shape} must be [Cout, Cin/groups] = [{cout}, {cin / groups}]");
        return out16 ?? out32!;
    }

    /// <summary>The fp32 weights rounded to bf16 (still as floats): the kernels' one rounding of the weights.</summary>
    private static float[] WeightsRoundedToBf16(Tensor w)
    {
        ReadOnlySpan<float> sw = Span<float>(w);
        var wq = new float[sw.Length];
        for (int i = 0; i < wq.Length; i++) wq[i] = BFloat16.Round(sw[i]);
        return wq;
    }
}
