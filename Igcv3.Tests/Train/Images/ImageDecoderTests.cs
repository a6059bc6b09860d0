using System.Reflection;
using Igcv3.Train.Data.Images;
using SkiaSharp;
using Xunit;

namespace Igcv3.Tests.Train.Images;

public class ImageDecoderTests
{
    [Fact]
    public void Png_DecodesToTheExactPixels()
    {
        var image = EncodedImages.Random(37, 23, seed: 5);
        var decoded = ImageDecoder.Decode(EncodedImages.Png(image), "random.png");
        Assert.Equal((37, 23), (decoded.Width, decoded.Height));
        Assert.Equal(image.Pixels, decoded.Pixels);
    }

    [Fact]
    public void Jpeg_DecodesFlatColourBlocks_WithinJpegError()
    {
        // Four 16x16 blocks of flat colour (on the 8x8 DCT grid, so each block's interior is nearly exact).
        (byte, byte, byte)[] colours = [(200, 30, 40), (20, 180, 60), (40, 50, 220), (250, 250, 250)];
        var image = EncodedImages.Make(32, 32, (x, y) => colours[(y / 16) * 2 + x / 16]);
        var decoded = ImageDecoder.Decode(EncodedImages.Jpeg(image, quality: 95), "blocks.jpg");
        Assert.Equal((32, 32), (decoded.Width, decoded.Height));
        foreach (var (x, y) in new[] { (4, 4), (27, 4), (4, 27), (27, 27) })
            for (int c = 0; c < 3; c++)
                Assert.InRange(decoded.At(x, y, c) - image.At(x, y, c), -8, 8);
    }

    [Theory]
    [InlineData(SKEncodedImageFormat.Png)]
    [InlineData(SKEncodedImageFormat.Jpeg)]
    public void Greyscale_BecomesRgbWithEqualChannels(SKEncodedImageFormat format)
    {
        var grey = new byte[24 * 16];
        for (int i = 0; i < grey.Length; i++) grey[i] = (byte)(i % 24 * 10);
        var decoded = ImageDecoder.Decode(EncodedImages.Grey(grey, 24, 16, format), $"grey.{format}");
        Assert.Equal((24, 16), (decoded.Width, decoded.Height));
        int tolerance = format == SKEncodedImageFormat.Png ? 0 : 12;
        for (int p = 0; p < grey.Length; p++)
        {
            Assert.Equal(decoded.Pixels[p * 3], decoded.Pixels[p * 3 + 1]);
            Assert.Equal(decoded.Pixels[p * 3], decoded.Pixels[p * 3 + 2]);
            Assert.InRange(decoded.Pixels[p * 3] - grey[p], -tolerance, tolerance);
        }
    }

    [Fact]
    public void Cmyk_Jpeg_BecomesRgb()
    {
        // Made with PIL 9.4: Image.new("CMYK", (16, 16)), quadrants C=255 (cyan), M=Y=255 (red),
        // nothing (white), K=255 (black), saved at quality 95 (an Adobe CMYK JPEG); PIL reads it as
        // (0,255,255), (255,0,0), (255,255,255), (0,0,0).
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("cmyk-quadrants.jpg")!;
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        var decoded = ImageDecoder.Decode(memory.ToArray(), "cmyk-quadrants.jpg");
        Assert.Equal((16, 16), (decoded.Width, decoded.Height));
        var expected = new[] { ((3, 3), (0, 255, 255)), ((12, 3), (255, 0, 0)), ((3, 12), (255, 255, 255)), ((12, 12), (0, 0, 0)) };
        foreach (var ((x, y), (r, g, b)) in expected)
        {
            Assert.InRange(decoded.At(x, y, 0) - r, -12, 12);
            Assert.InRange(decoded.At(x, y, 1) - g, -12, 12);
            Assert.InRange(decoded.At(x, y, 2) - b, -12, 12);
        }
    }

    [Fact]
    public void Alpha_IsDropped_NotComposited()
    {
        var image = EncodedImages.Random(9, 7, seed: 2);
        var decoded = ImageDecoder.Decode(EncodedImages.PngWithAlpha(image, alpha: 128), "alpha.png");
        Assert.Equal(image.Pixels, decoded.Pixels);
    }

    [Fact]
    public void ExifOrientation_IsIgnored()
    {
        // A 40x20 image tagged "rotate 90" must still decode as 40x20 with its pixels unrotated (as torchvision).
        var image = EncodedImages.Make(40, 20, (x, _) => x < 20 ? ((byte)250, (byte)0, (byte)0) : ((byte)0, (byte)0, (byte)250));
        var tagged = EncodedImages.WithExifOrientation(EncodedImages.Jpeg(image), orientation: 6);
        var decoded = ImageDecoder.Decode(tagged, "rotated.jpg");
        Assert.Equal((40, 20), (decoded.Width, decoded.Height));
        Assert.True(decoded.At(5, 10, 0) > 200 && decoded.At(35, 10, 2) > 200);
    }

    [Fact]
    public void Truncated_Garbage_And_Empty_Throw_CorruptImageException_NamingTheSource()
    {
        var jpeg = EncodedImages.Jpeg(EncodedImages.Random(64, 64, seed: 1));
        var truncated = Assert.Throws<CorruptImageException>(() => ImageDecoder.Decode(jpeg.AsSpan(0, jpeg.Length / 2), "half.jpg"));
        Assert.Equal("half.jpg", truncated.Source);
        Assert.Contains("half.jpg", truncated.Message);
        Assert.Contains("truncated", truncated.Message);

        var garbage = new byte[500];
        new Random(3).NextBytes(garbage);
        Assert.Throws<CorruptImageException>(() => ImageDecoder.Decode(garbage, "garbage.jpg"));
        Assert.Throws<CorruptImageException>(() => ImageDecoder.Decode([], "empty.jpg"));

        // A JPEG signature followed by garbage instead of the segments.
        var damaged = new byte[] { 0xFF, 0xD8, 0xFF }.Concat(garbage).ToArray();
        Assert.Throws<CorruptImageException>(() => ImageDecoder.Decode(damaged, "damaged.jpg"));
    }

    [Fact]
    public void DecodeAtLeast_TakesTheSmallestPowerOfTwoReductionThatIsStillLargeEnough()
    {
        var jpeg = EncodedImages.Jpeg(EncodedImages.Make(400, 240, (x, y) => ((byte)(x / 2), (byte)y, 0)));
        // 0.45 asked: 1/2 (200x120) is enough, 1/4 (0.25) is not.
        var half = ImageDecoder.DecodeAtLeast(jpeg, "big.jpg", (w, h) => (w, h) == (400, 240) ? 0.45 : throw new InvalidOperationException("not the full size"));
        Assert.Equal((200, 120, 400, 240, 0.5), (half.Pixels.Width, half.Pixels.Height, half.FullWidth, half.FullHeight, half.Scale));
        // The gradient survives the reduced decode: pixel (x, y) of the half-size image ~ (2x, 2y) of the full one.
        Assert.InRange(half.Pixels.At(50, 30, 0) - 50, -4, 4);
        Assert.InRange(half.Pixels.At(50, 30, 1) - 61, -4, 4);
        // 0.1 asked: 1/8 would leave a 30-pixel side, under the 32 below which nothing is reduced further.
        Assert.Equal(0.25, ImageDecoder.DecodeAtLeast(jpeg, "big.jpg", (_, _) => 0.1).Scale);
        // 0.6 asked: no power of two below 1 is enough, so the full decode, the same bytes as Decode.
        var notReduced = ImageDecoder.DecodeAtLeast(jpeg, "big.jpg", (_, _) => 0.6);
        Assert.Equal((400, 240, 1.0), (notReduced.Pixels.Width, notReduced.Pixels.Height, notReduced.Scale));
        Assert.Equal(ImageDecoder.Decode(jpeg, "big.jpg").Pixels, notReduced.Pixels.Pixels);
        // A PNG is never reduced.
        var png = ImageDecoder.DecodeAtLeast(EncodedImages.Png(EncodedImages.Random(400, 240, 1)), "big.png", (_, _) => 0.1);
        Assert.Equal((400, 1.0), (png.Pixels.Width, png.Scale));
    }

    [Fact]
    public void DecodeFile_MissingFile_IsCorruptImage()
    {
        Assert.Throws<CorruptImageException>(() => ImageDecoder.DecodeFile(Path.Combine(Path.GetTempPath(), "no-such-image-" + Guid.NewGuid() + ".jpg")));
    }
}
