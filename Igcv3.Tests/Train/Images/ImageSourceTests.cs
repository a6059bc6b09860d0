using System.Buffers.Binary;
using Igcv3.Tests.Support;
using Igcv3.Train.Data;
using Igcv3.Train.Data.Images;
using Xunit;

namespace Igcv3.Tests.Train.Images;

public sealed class ImageSourceTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private static RgbImage Solid(byte value) => EncodedImages.Make(6, 4, (_, _) => (value, (byte)(255 - value), 7));

    [Fact]
    public void Folder_ClassesInOrdinalOrder_ImagesSorted_OnlyImageExtensions()
    {
        string root = _temp.File("train");
        // Created out of order; "B" sorts before "a" by code point, as Python's sorted does.
        foreach (var (cls, file, value) in new[] { ("a", "2.JPEG", 20), ("a", "10.png", 10), ("B", "x.jpg", 30), ("n01", "sub/z.jpeg", 40), ("n01", "y.PNG", 50) })
        {
            string path = Path.Combine(root, cls, file);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, EncodedImages.Png(Solid((byte)value)));
        }
        File.WriteAllText(Path.Combine(root, "a", "notes.txt"), "not an image");

        var source = ImageFolderSource.Open(root, "train");
        Assert.Equal(["B", "a", "n01"], source.ClassNames);
        Assert.Equal(5, source.Count);
        // a: "10.png" < "2.JPEG" (ordinal); n01: its own files, then its sub-folders'.
        var expected = new[] { ("x.jpg", 0, 30), ("10.png", 1, 10), ("2.JPEG", 1, 20), ("y.PNG", 2, 50), ("z.jpeg", 2, 40) };
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(expected[i].Item1, Path.GetFileName(source.Describe(i)));
            Assert.Equal(expected[i].Item2, source.Label(i));
            Assert.Equal(expected[i].Item3, ImageDecoder.Decode(source.Read(i), source.Describe(i)).At(0, 0, 0));
        }
    }

    [Fact]
    public void Folder_ValidationWithOtherClasses_OrAnEmptyClass_IsADataError()
    {
        string train = _temp.File("train"), val = _temp.File("val");
        foreach (var (root, cls) in new[] { (train, "c0"), (train, "c1"), (val, "c0"), (val, "c2") })
        {
            Directory.CreateDirectory(Path.Combine(root, cls));
            File.WriteAllBytes(Path.Combine(root, cls, "i.png"), EncodedImages.Png(Solid(1)));
        }
        var trainSource = ImageFolderSource.Open(train, "train");
        var e = Assert.Throws<DataException>(() => ImageFolderSource.Open(val, "val", trainSource.ClassNames));
        Assert.Contains("missing c1", e.Message);
        Assert.Contains("c2", e.Message);

        Directory.CreateDirectory(Path.Combine(train, "c3"));
        Assert.Contains("holds no image", Assert.Throws<DataException>(() => ImageFolderSource.Open(train, "train")).Message);
        Assert.Contains("does not exist", Assert.Throws<DataException>(() => ImageFolderSource.Open(_temp.File("nope"), "train")).Message);
    }

    [Theory]
    [InlineData("val_labels.txt")]
    [InlineData("LOC_val_solution.csv")]
    public void FlatVal_IsLabelledByItsLabelFile_InTheTrainingClassOrder(string labelFile)
    {
        string data = _temp.File("imagenet");
        foreach (var cls in new[] { "n02", "n01" })
        {
            Directory.CreateDirectory(Path.Combine(data, "train", cls));
            File.WriteAllBytes(Path.Combine(data, "train", cls, "t.png"), EncodedImages.Png(Solid(1)));
        }
        Directory.CreateDirectory(Path.Combine(data, "val"));
        string[] files = ["ILSVRC2012_val_00000002.JPEG", "ILSVRC2012_val_00000001.JPEG", "ILSVRC2012_val_00000003.JPEG"];
        string[] classes = ["n02", "n01", "n02"];
        for (int i = 0; i < 3; i++) File.WriteAllBytes(Path.Combine(data, "val", files[i]), EncodedImages.Png(Solid((byte)(10 * i))));
        var lines = labelFile.EndsWith(".csv")
            ? ["ImageId,PredictionString", .. files.Select((f, i) => $"{Path.GetFileNameWithoutExtension(f)},{classes[i]} 1 2 30 40 {classes[i]} 5 6 70 80")]
            : files.Select((f, i) => $"{f} {classes[i]}").ToArray();
        File.WriteAllLines(Path.Combine(data, labelFile), lines);

        var (train, val) = ImageNetLayout.Open(data, testOnly: false);
        Assert.Equal(["n01", "n02"], train!.ClassNames);
        Assert.Equal(["n01", "n02"], val.ClassNames);
        // File-name order: ..001 (n01 -> 0), ..002 (n02 -> 1), ..003 (n02 -> 1).
        Assert.Equal([0, 1, 1], Enumerable.Range(0, 3).Select(val.Label));
        Assert.Equal(10, ImageDecoder.Decode(val.Read(0), "v").At(0, 0, 0));

        File.WriteAllLines(Path.Combine(data, labelFile), lines[..^1]);
        Assert.Contains("has no label in", Assert.Throws<DataException>(() => ImageNetLayout.Open(data, testOnly: false)).Message);
        File.Delete(Path.Combine(data, labelFile));
        Assert.Contains("no class folders", Assert.Throws<DataException>(() => ImageNetLayout.Open(data, testOnly: false)).Message);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void RecordIO_ReadsLabelsAndImages_WithOrWithoutIdx(bool withIndex)
    {
        string rec = _temp.File("train.rec");
        var images = Enumerable.Range(0, 5).Select(i => EncodedImages.Random(5 + i, 3 + i, seed: i)).ToArray();
        float[] labels = [2, 0, 1, 2, 4];
        using (var writer = new RecordIOWriter(rec, withIndex))
        {
            for (int i = 0; i < 4; i++) writer.WriteImage(labels[i], EncodedImages.Png(images[i]), id: (ulong)i);
            writer.WriteImage(0, EncodedImages.Png(images[4]), extraLabels: [4, 9]); // flag 2: the labels follow the header
        }
        using var source = RecordIOImageSource.Open(rec, "train");
        Assert.Equal(5, source.Count);
        Assert.Equal(5, source.ClassNames.Count); // 0 .. 4
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal((int)labels[i], source.Label(i));
            Assert.Equal(images[i].Pixels, ImageDecoder.Decode(source.Read(i), source.Describe(i)).Pixels);
        }
        using var thousand = RecordIOImageSource.Open(rec, "train", minClasses: 1000);
        Assert.Equal(1000, thousand.ClassNames.Count);
    }

    [Fact]
    public void RecordIO_DataContainingTheMagic_IsSplitByTheWriter_AndJoinedByTheReader()
    {
        string rec = _temp.File("magic.rec");
        var magic = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(magic, RecordIOFile.Magic);
        // The magic at offsets 0, 8 and 12 (aligned: cut), and at 21 (unaligned: kept); 27 bytes (padded).
        var data = new byte[27];
        new Random(1).NextBytes(data);
        foreach (int at in new[] { 0, 8, 12, 21 }) magic.CopyTo(data, at);
        var plain = new byte[] { 1, 2, 3, 4, 5 };
        using (var writer = new RecordIOWriter(rec))
        {
            writer.WriteRecord(plain);
            writer.WriteRecord(data);
            writer.WriteRecord(plain);
        }
        using var file = new RecordIOFile(rec);
        var offsets = file.ScanOffsets();
        Assert.Equal(3, offsets.Count);
        Assert.Equal(plain, file.Read(offsets[0]).Data);
        var (read, next) = file.Read(offsets[1]);
        Assert.Equal(data, read);
        Assert.Equal(offsets[2], next);
        Assert.Equal(plain, file.Read(offsets[2]).Data);
        Assert.Equal(file.Length, file.Read(offsets[2]).Next);
        // The writer really split it: the second record starts with a first part (cflag 1) of length 0.
        var bytes = File.ReadAllBytes(rec);
        Assert.Equal(1u << 29, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan((int)offsets[1] + 4)));
    }

    [Fact]
    public void RecordIO_BadMagic_Truncation_AndBadIdx_AreDataErrors()
    {
        string rec = _temp.File("t.rec");
        using (var writer = new RecordIOWriter(rec))
        {
            writer.WriteImage(1, EncodedImages.Png(Solid(9)));
            writer.WriteImage(0, EncodedImages.Png(Solid(8)));
        }
        var bytes = File.ReadAllBytes(rec);
        File.WriteAllBytes(rec, bytes[..^10]);
        Assert.Contains("past the end", Assert.Throws<DataException>(() => RecordIOImageSource.Open(rec, "train")).Message);

        File.WriteAllBytes(rec, bytes);
        File.WriteAllText(Path.ChangeExtension(rec, ".idx"), "0\t0\n1\t3\n");
        Assert.Contains("magic", Assert.Throws<DataException>(() => RecordIOImageSource.Open(rec, "train")).Message);
        File.WriteAllText(Path.ChangeExtension(rec, ".idx"), "0\tzero\n");
        Assert.Contains("line 1", Assert.Throws<DataException>(() => RecordIOImageSource.Open(rec, "train")).Message);

        File.Delete(Path.ChangeExtension(rec, ".idx"));
        File.WriteAllBytes(rec, "not a record file at all"u8.ToArray());
        Assert.Contains("magic", Assert.Throws<DataException>(() => RecordIOImageSource.Open(rec, "train")).Message);
    }

    [Fact]
    public void RecordIO_NonIntegerLabel_IsADataError()
    {
        string rec = _temp.File("l.rec");
        using (var writer = new RecordIOWriter(rec)) writer.WriteImage(1.5f, EncodedImages.Png(Solid(9)));
        Assert.Contains("label 1.5", Assert.Throws<DataException>(() => RecordIOImageSource.Open(rec, "train")).Message);
    }
}
