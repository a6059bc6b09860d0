namespace Igcv3.Engine.Cpu;

/// <summary>
/// The sizes of one convolution, read once from its tensors, and the index arithmetic that the
/// general and the depthwise kernels share. Output pixel o reads input o·stride − padding + k
/// for kernel tap k; taps that land in the zero padding are skipped by clipping the tap range
/// once per output row and column, so the inner loops carry no bounds tests.
/// </summary>
internal readonly record struct ConvGeometry(
    int N, int H, int W, int Cin, int Ho, int Wo, int Cout, int Kernel, int Stride, int Padding, int Groups)
{
    public static ConvGeometry Of(Tensor x, Tensor y, int kernel, int stride, int padding, int groups) =>
        new(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], y.Shape[1], y.Shape[2], y.Shape[3], kernel, stride, padding, groups);

    /// <summary>Input channels each group reads (the weight's last axis).</summary>
    public int CinPerGroup => Cin / Groups;

    /// <summary>Output channels each group writes.</summary>
    public int CoutPerGroup => Cout / Groups;

    /// <summary>The taps [First, End) of one kernel axis whose input o·stride − padding + k lies in
    /// [0, size); empty when the whole window is padding.</summary>
    public (int First, int End) Taps(int o, int size)
    {
        int start = o * Stride - Padding;
        int first = Math.Max(0, -start);
        int end = Math.Min(Kernel, size - start);
        return (first, Math.Max(first, end));
    }

    /// <summary>Index of x[n, ih, iw, 0].</summary>
    public int InputPixel(int n, int ih, int iw) => ((n * H + ih) * W + iw) * Cin;

    /// <summary>Index of y[n, oh, ow, 0].</summary>
    public int OutputPixel(int n, int oh, int ow) => ((n * Ho + oh) * Wo + ow) * Cout;

    /// <summary>
    /// The taps [kw0, kw1) of one kernel row as runs of contiguous elements, each run a dot product
    /// or axpy: run r starts at r·Cin in x and at r·(Cin/groups) in w. With one group the row's
    /// input pixels are adjacent and their channels are all read, and the weight row
    /// w[co, kh, kw0..kw1, :] is contiguous too, so the whole row is one run of (kw1 − kw0)·Cin;
    /// with several groups a group's channels are a strided slice of each pixel, one run per tap.
    /// </summary>
    public (int Count, int Length) Runs(int kw0, int kw1)
    {
        if (kw1 <= kw0) return (0, 0);
        return Groups == 1 ? (1, (kw1 - kw0) * Cin) : (kw1 - kw0, CinPerGroup);
    }
}
