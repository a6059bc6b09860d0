using Igcv3.Train.Data.Images;
using Xunit;

namespace Igcv3.Tests.Train.Images;

public class BilinearResizeTests
{
    [Theory]
    [InlineData(61, 47, 23, 17)]  // downscale by ~2.7: widened support
    [InlineData(20, 15, 53, 41)]  // upscale
    [InlineData(40, 30, 40, 19)]  // height only (the horizontal pass is skipped)
    public void Resize_IsWithinOneGreyLevelOfTheDefinition(int inWidth, int inHeight, int outWidth, int outHeight)
    {
        var image = EncodedImages.Random(inWidth, inHeight, seed: inWidth);
        var ours = BilinearResize.CropResize(image, PixelBox.Whole(inWidth, inHeight), outWidth, outHeight, PixelBox.Whole(outWidth, outHeight));
        var reference = ReferenceResize.Resize(image, outWidth, outHeight);
        Assert.Equal((outWidth, outHeight), (ours.Width, ours.Height));
        for (int i = 0; i < reference.Length; i++)
            Assert.InRange(ours.Pixels[i] - reference[i], -1.0, 1.0);
    }

    [Fact]
    public void Constant_StaysExactlyConstant()
    {
        var image = EncodedImages.Make(50, 31, (_, _) => (17, 128, 255));
        var resized = BilinearResize.CropResize(image, new PixelBox(3, 2, 40, 25), 13, 29, PixelBox.Whole(13, 29));
        for (int p = 0; p < 13 * 29; p++) Assert.Equal(new byte[] { 17, 128, 255 }, resized.Pixels.AsSpan(p * 3, 3).ToArray());
    }

    [Fact]
    public void Window_IsExactlyThatPartOfTheFullResize()
    {
        var image = EncodedImages.Random(90, 70, seed: 4);
        var full = BilinearResize.CropResize(image, PixelBox.Whole(90, 70), 45, 33, PixelBox.Whole(45, 33));
        var window = new PixelBox(7, 5, 20, 11);
        var part = BilinearResize.CropResize(image, PixelBox.Whole(90, 70), 45, 33, window);
        for (int y = 0; y < window.Height; y++)
        for (int x = 0; x < window.Width; x++)
        for (int c = 0; c < 3; c++)
            Assert.Equal(full.At(window.X + x, window.Y + y, c), part.At(x, y, c));
    }

    [Fact]
    public void Crop_ReadsNothingOutsideTheCrop()
    {
        // torchvision crops, then resizes: the filter must not reach pixels outside the crop box.
        var image = EncodedImages.Random(60, 50, seed: 8);
        var box = new PixelBox(11, 9, 30, 25);
        var cropped = EncodedImages.Make(box.Width, box.Height, (x, y) => (image.At(box.X + x, box.Y + y, 0), image.At(box.X + x, box.Y + y, 1), image.At(box.X + x, box.Y + y, 2)));
        var viaBox = BilinearResize.CropResize(image, box, 16, 16, PixelBox.Whole(16, 16));
        var viaCopy = BilinearResize.CropResize(cropped, PixelBox.Whole(box.Width, box.Height), 16, 16, PixelBox.Whole(16, 16));
        Assert.Equal(viaCopy.Pixels, viaBox.Pixels);
    }

    [Fact]
    public void SameSize_IsACopy()
    {
        var image = EncodedImages.Random(12, 9, seed: 1);
        Assert.Equal(image.Pixels, BilinearResize.CropResize(image, PixelBox.Whole(12, 9), 12, 9, PixelBox.Whole(12, 9)).Pixels);
    }

    [Fact]
    public void BadBoxes_Throw()
    {
        var image = EncodedImages.Random(12, 9, seed: 1);
        Assert.Throws<ArgumentException>(() => BilinearResize.CropResize(image, new PixelBox(5, 0, 8, 9), 4, 4, PixelBox.Whole(4, 4)));
        Assert.Throws<ArgumentException>(() => BilinearResize.CropResize(image, PixelBox.Whole(12, 9), 4, 4, new PixelBox(1, 1, 4, 4)));
        Assert.Throws<ArgumentException>(() => BilinearResize.CropResize(image, PixelBox.Whole(12, 9), 0, 4, PixelBox.Whole(1, 4)));
    }
}
