using Igcv3.Tests.Support;
using Igcv3.Train.Data;
using Xunit;

namespace Igcv3.Tests.Train;

public class CifarReaderTests
{
    [Fact]
    public void Load_Cifar10Train_ReturnsEveryRecordOfEveryBatchInFileOrder()
    {
        using var folder = new TempFolder();
        var written = FakeCifar.WriteRelease(FakeCifar.TinyCifar10, folder.Path, seed: 1);

        var train = CifarReader.Load(FakeCifar.TinyCifar10, folder.Path, DataSplit.Train);

        Assert.Equal(15, train.Count);
        Assert.Equal((3, 32, 32), (train.Channels, train.Height, train.Width));
        for (int i = 0; i < 15; i++)
        {
            var record = written[$"data_batch_{i / 3 + 1}.bin"][i % 3];
            Assert.Equal(record.LabelBytes[0], train.Label(i));
            Assert.True(record.Pixels.AsSpan().SequenceEqual(train.Image(i)), $"image {i} differs from its record");
        }
    }

    [Fact]
    public void SymlinkedFiles_AreFollowed()
    {
        // A folder of links to the real files, as made to share one copy of a data set.
        using var folder = new TempFolder();
        string real = folder.File("real"), links = folder.File("links");
        FakeCifar.WriteRelease(FakeCifar.TinyCifar10, real, seed: 1);
        Directory.CreateDirectory(links);
        foreach (string file in Directory.GetFiles(real)) File.CreateSymbolicLink(Path.Combine(links, Path.GetFileName(file)), file);

        CifarReader.ValidateFile(FakeCifar.TinyCifar10, links, "data_batch_1.bin", 3);
        Assert.Equal(15, CifarReader.Load(FakeCifar.TinyCifar10, links, DataSplit.Train).Count);
    }

    [Fact]
    public void Load_Cifar10Test_ReadsTestBatch()
    {
        using var folder = new TempFolder();
        var written = FakeCifar.WriteRelease(FakeCifar.TinyCifar10, folder.Path, seed: 2);

        var test = CifarReader.Load(FakeCifar.TinyCifar10, folder.Path, DataSplit.Test);

        Assert.Equal(2, test.Count);
        Assert.Equal(written["test_batch.bin"][1].LabelBytes[0], test.Label(1));
        Assert.True(written["test_batch.bin"][1].Pixels.AsSpan().SequenceEqual(test.Image(1)));
    }

    [Fact]
    public void Load_WithMaxImages_KeepsOnlyTheFirstRecords()
    {
        using var folder = new TempFolder();
        var written = FakeCifar.WriteRelease(FakeCifar.TinyCifar10, folder.Path, seed: 3);

        var first4 = CifarReader.Load(FakeCifar.TinyCifar10, folder.Path, DataSplit.Train, maxImages: 4);

        Assert.Equal(4, first4.Count);
        // The fourth image is the first record of the second batch.
        Assert.True(written["data_batch_2.bin"][0].Pixels.AsSpan().SequenceEqual(first4.Image(3)));
        Assert.Equal(0, CifarReader.Load(FakeCifar.TinyCifar10, folder.Path, DataSplit.Train, maxImages: 0).Count);
        Assert.Equal(15, CifarReader.Load(FakeCifar.TinyCifar10, folder.Path, DataSplit.Train, maxImages: 1000).Count);
    }

    [Fact]
    public void Load_Cifar100_UsesTheFineLabelNotTheCoarseOne()
    {
        using var folder = new TempFolder();
        var written = FakeCifar.WriteRelease(FakeCifar.TinyCifar100, folder.Path, seed: 4);

        var train = CifarReader.Load(FakeCifar.TinyCifar100, folder.Path, DataSplit.Train);

        Assert.Equal(4, train.Count);
        Assert.Equal(100, train.ClassCount);
        for (int i = 0; i < 4; i++)
        {
            var record = written["train.bin"][i];
            Assert.Equal(record.LabelBytes[1], train.Label(i));
            // The pixels start after both label bytes.
            Assert.True(record.Pixels.AsSpan().SequenceEqual(train.Image(i)));
        }
    }

    [Fact]
    public void Load_FromTheParentFolder_FindsTheReleaseSubfolder()
    {
        using var folder = new TempFolder();
        FakeCifar.WriteRelease(FakeCifar.TinyCifar10, Path.Combine(folder.Path, "cifar-10-batches-bin"), seed: 5);

        Assert.Equal(15, CifarReader.Load(FakeCifar.TinyCifar10, folder.Path, DataSplit.Train).Count);
    }

    [Fact]
    public void Load_ReadsClassNamesFromTheMetaFile_ElseUsesTheBuiltInOnes()
    {
        using var folder = new TempFolder();
        FakeCifar.WriteRelease(FakeCifar.TinyCifar10, folder.Path, seed: 6);
        Assert.Equal(CifarClassNames.Cifar10, CifarReader.Load(FakeCifar.TinyCifar10, folder.Path, DataSplit.Test).ClassNames);

        var names = Enumerable.Range(0, 10).Select(i => $"thing{i}").ToArray();
        File.WriteAllText(folder.File("batches.meta.txt"), string.Join("\n", names) + "\n\n");
        Assert.Equal(names, CifarReader.Load(FakeCifar.TinyCifar10, folder.Path, DataSplit.Test).ClassNames);
    }

    [Fact]
    public void ValidateFile_OfficialLayout_WrongSize_SaysWhichFileHowAndWhatToDo()
    {
        using var folder = new TempFolder();
        File.WriteAllBytes(folder.File("data_batch_3.bin"), new byte[1234]);

        var e = Assert.Throws<DataException>(() =>
            CifarReader.ValidateFile(CifarLayout.Cifar10, folder.Path, "data_batch_3.bin", CifarLayout.Cifar10.RecordsPerTrainFile));

        Assert.Equal(
            "data_batch_3.bin is 1,234 bytes, not a whole number of 3,073-byte records; a CIFAR-10 batch is 30,730,000 bytes " +
            "(10,000 records of 3,073). Delete it and download again with --download, or point --data-dir at the extracted cifar-10-batches-bin folder",
            e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Load_FileWithWholeRecordsButWrongCount_IsRejected()
    {
        using var folder = new TempFolder();
        FakeCifar.WriteRelease(FakeCifar.TinyCifar10, folder.Path, seed: 7);
        File.WriteAllBytes(folder.File("data_batch_3.bin"), new byte[4 * 3073]);

        var e = Assert.Throws<DataException>(() => CifarReader.Load(FakeCifar.TinyCifar10, folder.Path, DataSplit.Train));

        Assert.StartsWith("data_batch_3.bin is 12,292 bytes; a CIFAR-10 batch is 9,219 bytes (3 records of 3,073).", e.Message);
    }

    [Fact]
    public void Load_Cifar100WrongSize_NamesItsRecordSize()
    {
        using var folder = new TempFolder();
        FakeCifar.WriteRelease(FakeCifar.TinyCifar100, folder.Path, seed: 8);
        File.WriteAllBytes(folder.File("train.bin"), new byte[3 * 3074]);

        var e = Assert.Throws<DataException>(() => CifarReader.Load(FakeCifar.TinyCifar100, folder.Path, DataSplit.Train));

        Assert.StartsWith("train.bin is 9,222 bytes; a CIFAR-100 split file is 12,296 bytes (4 records of 3,074).", e.Message);
        Assert.Contains("cifar-100-binary folder", e.Message);
    }

    [Fact]
    public void Load_EvenWithMaxImages_ChecksEveryFileOfTheSplit()
    {
        using var folder = new TempFolder();
        FakeCifar.WriteRelease(FakeCifar.TinyCifar10, folder.Path, seed: 9);
        File.Delete(folder.File("data_batch_5.bin"));

        var e = Assert.Throws<DataException>(() => CifarReader.Load(FakeCifar.TinyCifar10, folder.Path, DataSplit.Train, maxImages: 1));

        Assert.StartsWith($"data_batch_5.bin is missing from {folder.Path};", e.Message);
        Assert.Contains("--download", e.Message);
    }

    [Fact]
    public void Load_LabelOutOfRange_IsRejectedNamingTheRecord()
    {
        using var folder = new TempFolder();
        FakeCifar.WriteRelease(FakeCifar.TinyCifar10, folder.Path, seed: 10);
        var bytes = File.ReadAllBytes(folder.File("test_batch.bin"));
        bytes[3073] = 12; // the label of record 1
        File.WriteAllBytes(folder.File("test_batch.bin"), bytes);

        var e = Assert.Throws<DataException>(() => CifarReader.Load(FakeCifar.TinyCifar10, folder.Path, DataSplit.Test));

        Assert.StartsWith("test_batch.bin: record 1 has label 12; CIFAR-10 labels are 0..9", e.Message);
    }

    [Fact]
    public void Load_NegativeMaxImages_Throws()
    {
        using var folder = new TempFolder();
        Assert.Throws<ArgumentOutOfRangeException>(() => CifarReader.Load(FakeCifar.TinyCifar10, folder.Path, DataSplit.Train, maxImages: -1));
    }

    [Fact]
    public void ImageDataset_RejectsLabelsOutsideTheClasses_AndPixelCountMismatch()
    {
        var e1 = Assert.Throws<ArgumentException>(() => new ImageDataset("d", new byte[2 * 12], [0, 3], 3, 2, 2, ["a", "b", "c"]));
        Assert.Contains("label 3 of image 1", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => new ImageDataset("d", new byte[23], [0, 1], 3, 2, 2, ["a", "b"]));
        Assert.Contains("[2, 3, 2, 2]", e2.Message);
    }
}
