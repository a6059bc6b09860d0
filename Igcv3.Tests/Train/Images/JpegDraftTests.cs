using Igcv3.Train.Data;
using Igcv3.Train.Data.Images;
using SkiaSharp;
using Xunit;

namespace Igcv3.Tests.Train.Images;

/// <summary>
/// The fast JPEG path: the system's libjpeg-turbo against Skia's decode (the same bytes), the
/// region resize that maps a crop onto a reduced decode, and the draft (reduced-scale) transforms
/// against the exact ones within a stated tolerance.
/// </summary>
public sealed class JpegDraftTests
{
    /// <summary>Mean 0, std 1: the output is pixel / 255.</summary>
    private static readonly ChannelNormalization Raw = new([0, 0, 0], [1, 1, 1]);

    [Fact]
    public void TurboJpeg_DecodesTheSameBytesAsSkia()
    {
        if (!ImageDecoder.FastJpeg)
        {
            const string reason = "libturbojpeg.so.0 is not installed (Debian: libturbojpeg0); JPEGs are decoded by Skia alone";
            if (Environment.GetEnvironmentVariable("IGCV3_REQUIRE_TURBOJPEG") == "1") Assert.Fail(reason);
            Assert.Skip(reason);
        }
        var grey = new byte[121 * 67];
        new Random(4).NextBytes(grey);
        byte[][] jpegs =
        [
            EncodedImages.Jpeg(EncodedImages.Random(333, 517, seed: 1), quality: 90),
            EncodedImages.Jpeg(Photo(501, 375, seed: 2), quality: 75),
            EncodedImages.Grey(grey, 121, 67, SKEncodedImageFormat.Jpeg),
        ];
        foreach (var jpeg in jpegs)
        {
            var ours = ImageDecoder.Decode(jpeg, "test.jpg");
            var skia = SkiaRgb(jpeg);
            Assert.Equal((skia.Width, skia.Height), (ours.Width, ours.Height));
            Assert.True(skia.Pixels.SequenceEqual(ours.Pixels), $"{ours.Width}x{ours.Height}: libjpeg-turbo's bytes differ from Skia's");
        }
    }

    [Fact]
    public void RegionResize_OfAnIntegerRegion_IsCropResize_AndAFractionalRegionIsWhereItShouldBe()
    {
        var image = EncodedImages.Random(97, 61, seed: 3);
        var crop = new PixelBox(11, 7, 53, 41);
        var window = new PixelBox(2, 3, 20, 15);
        Assert.Equal(BilinearResize.CropResize(image, crop, 31, 23, window).Pixels,
            BilinearResize.RegionResize(image, 11, 7, 64, 48, 31, 23, window).Pixels);

        // A ramp R = x: an output pixel's value is the ramp at its centre, mapped back into the region.
        var ramp = EncodedImages.Make(256, 8, (x, _) => ((byte)x, 0, 0));
        var resized = BilinearResize.RegionResize(ramp, 10.5, 0, 200.5, 8, 95, 8, PixelBox.Whole(95, 8));
        for (int o = 2; o < 93; o++)
        {
            // Output o's centre is at 10.5 + (o + 0.5) * 2 in the source, where the ramp is that minus 0.5.
            double expected = 10.5 + (o + 0.5) * 2 - 0.5;
            Assert.InRange(resized.At(o, 4, 0) - expected, -1, 1);
        }
    }

    /// <summary>
    /// Draft versus exact, the train crops of many seeds and the eval crop, on photo-like test
    /// images big enough to be reduced. Tolerance: mean absolute difference under 1 grey level and
    /// 99% of values within 4 (measured: 0.48 and 2). Why not less: the two paths low-pass
    /// differently (libjpeg's scaled IDCT keeps the lowest DCT frequencies of each 8x8 block,
    /// Pillow's triangle filter averages neighbours), so they differ as two good downscales do,
    /// near zero on smooth areas, a level or two at edges and in noise. Why not more: a crop edge
    /// moved by half a pixel of the reduced image already gives 1.1 and 8, and fails.
    /// </summary>
    [Fact]
    public void DraftTransforms_StayWithinAFewGreyLevels_OfTheExactPath()
    {
        var train = new TrainTransform(size: 64);
        var eval = new EvalTransform(64, 0.875); // resize 73, crop 64
        int reduced = 0;
        var differences = new List<int>();
        for (int image = 0; image < 3; image++)
        {
            var jpeg = EncodedImages.Jpeg(Photo(520 + 40 * image, 400 - 30 * image, seed: image), quality: 90);
            var full = DecodedImage.Full(ImageDecoder.Decode(jpeg, "photo.jpg"));
            for (int seed = 0; seed < 12; seed++)
            {
                var draft = ImageDecoder.DecodeAtLeast(jpeg, "photo.jpg", (w, h) => train.MinimumScale(w, h, new Random(seed)));
                if (draft.Scale < 1) reduced++;
                differences.AddRange(Difference(train, full, draft, seed));
            }
            var evalDraft = ImageDecoder.DecodeAtLeast(jpeg, "photo.jpg", (w, h) => eval.MinimumScale(w, h));
            Assert.True(evalDraft.Scale <= 0.25, $"eval: a {full.FullWidth}x{full.FullHeight} image resized to 73 should decode at 1/4 or less, got {evalDraft.Scale}");
            differences.AddRange(Difference(eval, full, evalDraft, 0));
        }
        Assert.True(reduced >= 18, $"only {reduced} of 36 train crops were decoded reduced: the test does not test the draft");
        differences.Sort();
        double mean = differences.Average();
        int p99 = differences[(int)(differences.Count * 0.99)];
        Assert.True(mean < 1 && p99 <= 4, $"draft vs exact: mean |difference| {mean:F2} grey levels (< 1 allowed), 99th percentile {p99} (<= 4 allowed)");
    }

    [Fact]
    public void Draft_DrawsTheSameCrops_SoOnlyThePixelsOfTheShrinkDiffer()
    {
        // A transform's draws depend on the full size alone: the crop box and the flip are those of the
        // exact path. A left-right split image shows a flip or a misplaced crop as a swap of the halves.
        var split = EncodedImages.Make(1024, 768, (x, _) => x < 512 ? ((byte)230, (byte)20, (byte)20) : ((byte)20, (byte)20, (byte)230));
        var jpeg = EncodedImages.Jpeg(split, quality: 95);
        var train = new TrainTransform(size: 32, minScale: 0.9);
        var full = DecodedImage.Full(ImageDecoder.Decode(jpeg, "split.jpg"));
        for (int seed = 0; seed < 10; seed++)
        {
            var draft = ImageDecoder.DecodeAtLeast(jpeg, "split.jpg", (w, h) => train.MinimumScale(w, h, new Random(seed)));
            Assert.True(draft.Scale <= 0.125, $"seed {seed}: a crop of 90% or more of 1024x768 shrunk to 32 should decode at 1/8, got {draft.Scale}");
            var (exact, reduced) = (new float[32 * 32 * 3], new float[32 * 32 * 3]);
            train.Write(full, new Random(seed), Raw, exact);
            train.Write(draft, new Random(seed), Raw, reduced);
            // The red channel of the first and last columns: the two halves in the same order.
            Assert.InRange((reduced[0] - exact[0]) * 255, -8, 8);
            Assert.InRange((reduced[31 * 3] - exact[31 * 3]) * 255, -8, 8);
        }
    }

    [Fact]
    public void DraftLoader_IsTheSameForAnyWorkerCount_AndClose_ToTheExactLoader()
    {
        // Big JPEGs, so that most crops are decoded reduced; the batches must still depend on (seed, epoch, index) alone.
        var jpegs = Enumerable.Range(0, 10).Select(i => EncodedImages.Jpeg(Photo(700 + 13 * i, 520 - 9 * i, seed: i), quality: 90)).ToArray();
        var source = new MemoryImageSource(jpegs, [.. Enumerable.Range(0, 10).Select(i => i % 3)], 3);
        ImageBatchLoader Loader(int workers, bool draft) =>
            new(source, 5, new TrainTransform(size: 48), Raw, shuffle: true, dropLast: true, seed: 3, workers, jpegDraft: draft);
        var reference = Loader(1, draft: true).Epoch(2).Select(b => (b.Images.ToArray(), b.Labels.ToArray())).ToList();
        foreach (int workers in new[] { 2, 4 })
        {
            var batches = Loader(workers, draft: true).Epoch(2).Select(b => (b.Images.ToArray(), b.Labels.ToArray())).ToList();
            Assert.Equal(reference.Select(r => r.Item2), batches.Select(b => b.Item2));
            Assert.Equal(reference.Select(r => r.Item1), batches.Select(b => b.Item1));
        }
        var exact = Loader(2, draft: false).Epoch(2).Select(b => (b.Images.ToArray(), b.Labels.ToArray())).ToList();
        Assert.Equal(reference.Select(r => r.Item2), exact.Select(b => b.Item2));
        var differences = reference.Zip(exact).SelectMany(p => p.First.Item1.Zip(p.Second.Item1, (a, b) => Math.Abs(a - b) * 255)).ToList();
        Assert.True(differences.Average() < 1, $"draft vs exact loader: mean |difference| {differences.Average():F2} grey levels");
        Assert.True(differences.Any(d => d > 0.5), "the draft loader gave the exact loader's pixels: nothing was decoded reduced");
    }

    private static IEnumerable<int> Difference(IImageTransform transform, DecodedImage full, DecodedImage draft, int seed)
    {
        int n = transform.Size * transform.Size * 3;
        var (exact, reduced) = (new float[n], new float[n]);
        transform.Write(full, new Random(seed), Raw, exact);
        transform.Write(draft, new Random(seed), Raw, reduced);
        for (int i = 0; i < n; i++) yield return (int)Math.Round(Math.Abs(exact[i] - reduced[i]) * 255); // Raw: pixel / 255
    }

    /// <summary>Photo-like content: smooth shading, a few hard edges and some noise, as a JPEG of a scene compresses.</summary>
    private static RgbImage Photo(int width, int height, int seed)
    {
        var random = new Random(seed);
        var noise = new byte[width * height];
        random.NextBytes(noise);
        int edgeX = width / 3 + random.Next(width / 3), edgeY = height / 3 + random.Next(height / 3);
        return EncodedImages.Make(width, height, (x, y) =>
        {
            // Broad shading and a finer texture (periods of ~60 pixels), so that a misplaced crop shows.
            double shade = 0.5 + 0.25 * Math.Sin(x * 0.02 + y * 0.013 + seed) + 0.25 * Math.Sin(x * 0.11) * Math.Sin(y * 0.09);
            int n = noise[y * width + x] / 16 - 8;
            byte r = (byte)Math.Clamp((x < edgeX ? 200 : 60) * shade + n, 0, 255);
            byte g = (byte)Math.Clamp(255.0 * y / height + n, 0, 255);
            byte b = (byte)Math.Clamp((y < edgeY ? 40 : 210) * (1 - shade) + 30 + n, 0, 255);
            return (r, g, b);
        });
    }

    /// <summary>Skia's own decode, as RGB: the reference the fast path must equal.</summary>
    private static RgbImage SkiaRgb(byte[] jpeg)
    {
        using var codec = SKCodec.Create(new MemoryStream(jpeg));
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        Assert.Equal(SKCodecResult.Success, codec.GetPixels(info, bitmap.GetPixels()));
        var rgba = bitmap.Bytes;
        var rgb = new byte[info.Width * info.Height * 3];
        for (int p = 0; p < info.Width * info.Height; p++)
            for (int c = 0; c < 3; c++) rgb[p * 3 + c] = rgba[p * 4 + c];
        return new RgbImage(info.Width, info.Height, rgb);
    }
}
