using Igcv3.Train.Data;
using Igcv3.Train.Data.Images;
using Xunit;

namespace Igcv3.Tests.Train.Images;

public class EvalTransformTests
{
    [Fact]
    public void Sizes_FollowTorchvisionsResizeAndCenterCrop()
    {
        var t = new EvalTransform();
        Assert.Equal(256, t.ResizeSize);
        Assert.Equal((341, 256), t.ResizedSize(500, 375)); // int(256 * 500 / 375) = int(341.33)
        Assert.Equal((256, 341), t.ResizedSize(375, 500));
        Assert.Equal((256, 256), t.ResizedSize(80, 80));
        // round((341 - 224) / 2) = round(58.5) = 58 (Python rounds half to even), round(16) = 16.
        Assert.Equal(new PixelBox(58, 16, 224, 224), t.CenterWindow(341, 256));
        Assert.Equal(new PixelBox(16, 60, 224, 224), t.CenterWindow(256, 343)); // round(59.5) = 60, to even
    }

    [Fact]
    public void CropFraction_SetsTheResize()
    {
        Assert.Equal(224, new EvalTransform(224, 1.0).ResizeSize);
        Assert.Equal(235, new EvalTransform(224, 0.95).ResizeSize); // floor(235.79)
        Assert.Equal(146, new EvalTransform(128, 0.875).ResizeSize); // floor(146.29)
        Assert.Throws<ArgumentOutOfRangeException>(() => new EvalTransform(224, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EvalTransform(224, 1.2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EvalTransform(0));
    }

    [Fact]
    public void Apply_IsTheCentreOfTheResizedImage_WithinOneGreyLevel()
    {
        // A small version of the real thing: crop 56 of resize 64 on a 100x75 image -> 85x64, window x 14..70.
        var t = new EvalTransform(56, 0.875);
        var image = EncodedImages.Random(100, 75, seed: 3);
        var crop = t.Apply(image);
        Assert.Equal((56, 56), (crop.Width, crop.Height));
        var (w, h) = t.ResizedSize(100, 75);
        Assert.Equal((85, 64), (w, h));
        var window = t.CenterWindow(w, h);
        Assert.Equal(new PixelBox(14, 4, 56, 56), window); // round(14.5) = 14, round(4) = 4
        var reference = ReferenceResize.Resize(image, w, h);
        for (int y = 0; y < 56; y++)
        for (int x = 0; x < 56; x++)
        for (int c = 0; c < 3; c++)
            Assert.InRange(crop.At(x, y, c) - reference[((y + window.Y) * w + x + window.X) * 3 + c], -1.0, 1.0);
    }

    [Fact]
    public void ToChw_NormalisesEachChannelInPlaneOrder()
    {
        var t = new EvalTransform(8, 0.5); // resize 16, crop 8
        var image = EncodedImages.Make(20, 30, (_, _) => (255, 0, 51));
        var tensor = t.ToChw(image, ChannelNormalization.ImageNet);
        Assert.Equal(3 * 8 * 8, tensor.Length);
        float[] expected = [(1 - 0.485f) / 0.229f, (0 - 0.456f) / 0.224f, (0.2f - 0.406f) / 0.225f];
        for (int c = 0; c < 3; c++)
            for (int p = 0; p < 64; p++)
                Assert.Equal(expected[c], tensor[c * 64 + p], 1e-5f);

        var hwc = new float[3 * 64];
        t.WriteHwc(image, ChannelNormalization.ImageNet, hwc);
        for (int p = 0; p < 64; p++)
            for (int c = 0; c < 3; c++)
                Assert.Equal(tensor[c * 64 + p], hwc[p * 3 + c]);
    }

    [Fact]
    public void WriteHwc_OfRandomPixels_IsChwTransposed_ToTheBit()
    {
        // 13x7 = 273 values: whole 24-value vector blocks and a scalar tail, every byte value likely.
        var image = EncodedImages.Random(13, 7, seed: 9);
        var chw = ImageTensor.ToChw(image, ChannelNormalization.ImageNet);
        var hwc = new float[3 * 91];
        ImageTensor.WriteHwc(image, ChannelNormalization.ImageNet, hwc);
        for (int p = 0; p < 91; p++)
            for (int c = 0; c < 3; c++)
                Assert.Equal(BitConverter.SingleToInt32Bits(chw[c * 91 + p]), BitConverter.SingleToInt32Bits(hwc[p * 3 + c]));
    }

    [Fact]
    public void DecodedJpeg_ThroughTheTransform_KeepsWhereThingsAre()
    {
        // Left half red, right half blue; 400x300 is resized to 341x256 and the window starts at x = 58.
        var image = EncodedImages.Make(400, 300, (x, _) => x < 200 ? ((byte)240, (byte)10, (byte)10) : ((byte)10, (byte)10, (byte)240));
        var decoded = ImageDecoder.Decode(EncodedImages.Jpeg(image), "halves.jpg");
        var crop = new EvalTransform().Apply(decoded);
        // The edge at x = 200 of 400 maps to 170.67 of 341, i.e. 112.67 in the window.
        Assert.True(crop.At(100, 112, 0) > 200 && crop.At(100, 112, 2) < 40);
        Assert.True(crop.At(125, 112, 2) > 200 && crop.At(125, 112, 0) < 40);
    }
}
