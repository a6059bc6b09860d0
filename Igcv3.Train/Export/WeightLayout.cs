namespace Igcv3.Train.Export;

/// <summary>Our convolution weights in the OIHW layout of ONNX and PyTorch. Ours are OHWI
/// [Cout, K, K, Cin/g] (a KxK conv), [Cout, Cin/g] (a 1x1 conv) and [C, 3, 3] (a depthwise conv),
/// whose OIHW forms are [Cout, Cin/g, K, K], [Cout, Cin/g, 1, 1] and [C, 1, 3, 3]: only the
/// KxK conv's values move.</summary>
public static class WeightLayout
{
    /// <summary>w[o, kh, kw, i] → w[o, i, kh, kw].</summary>
    public static float[] OhwiToOihw(ReadOnlySpan<float> ohwi, int cout, int kernel, int cinPerGroup)
    {
        if (ohwi.Length != cout * kernel * kernel * cinPerGroup)
            throw new ArgumentException($"weight layout: {ohwi.Length} values are not [{cout}, {kernel}, {kernel}, {cinPerGroup}]");
        var oihw = new float[ohwi.Length];
        for (int o = 0; o < cout; o++)
            for (int kh = 0; kh < kernel; kh++)
                for (int kw = 0; kw < kernel; kw++)
                    for (int i = 0; i < cinPerGroup; i++)
                        oihw[((o * cinPerGroup + i) * kernel + kh) * kernel + kw] = ohwi[((o * kernel + kh) * kernel + kw) * cinPerGroup + i];
        return oihw;
    }
}
