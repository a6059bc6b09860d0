namespace Igcv3.Train.Data;

public enum CifarKind { Cifar10, Cifar100 }

public enum DataSplit { Train, Test }

/// <summary>
/// What a CIFAR binary release looks like on disk: the files of each split, the record layout
/// (label bytes, then 3,072 pixel bytes: 1,024 red, 1,024 green, 1,024 blue, row-major 32x32),
/// how many records each file must hold, and where the official archive lives. A record so that
/// tests can describe a smaller variant with <c>with { RecordsPerTrainFile = 3 }</c>.
/// </summary>
public sealed record CifarLayout(
    string DisplayName,
    string FolderName,
    IReadOnlyList<string> TrainFiles,
    IReadOnlyList<string> TestFiles,
    int LabelBytes,
    int LabelOffset,
    int RecordsPerTrainFile,
    int RecordsPerTestFile,
    int ClassCount,
    string FileNoun,
    string? ClassNamesFile,
    string ArchiveName,
    Uri ArchiveUrl,
    string ArchiveMd5)
{
    public const int Channels = 3;
    public const int Height = 32;
    public const int Width = 32;
    public const int ImageBytes = Channels * Height * Width; // 3,072

    /// <summary>Bytes per record: the label byte(s) then the image.</summary>
    public int RecordBytes => LabelBytes + ImageBytes;

    /// <summary>
    /// CIFAR-10: 1 label byte per record; data_batch_1..5.bin (train) and test_batch.bin, 10,000
    /// records each.
    /// </summary>
    public static readonly CifarLayout Cifar10 = new(
        DisplayName: "CIFAR-10",
        FolderName: "cifar-10-batches-bin",
        TrainFiles: ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"],
        TestFiles: ["test_batch.bin"],
        LabelBytes: 1,
        LabelOffset: 0,
        RecordsPerTrainFile: 10_000,
        RecordsPerTestFile: 10_000,
        ClassCount: 10,
        FileNoun: "batch",
        ClassNamesFile: "batches.meta.txt",
        ArchiveName: "cifar-10-binary.tar.gz",
        ArchiveUrl: new Uri("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"),
        ArchiveMd5: "c32a1d4ab5d03f1284b67883e8d87530");

    /// <summary>
    /// CIFAR-100: 2 label bytes per record (coarse, then fine; we use the fine label, offset 1);
    /// train.bin with 50,000 records and test.bin with 10,000.
    /// </summary>
    public static readonly CifarLayout Cifar100 = new(
        DisplayName: "CIFAR-100",
        FolderName: "cifar-100-binary",
        TrainFiles: ["train.bin"],
        TestFiles: ["test.bin"],
        LabelBytes: 2,
        LabelOffset: 1,
        RecordsPerTrainFile: 50_000,
        RecordsPerTestFile: 10_000,
        ClassCount: 100,
        FileNoun: "split file",
        ClassNamesFile: "fine_label_names.txt",
        ArchiveName: "cifar-100-binary.tar.gz",
        ArchiveUrl: new Uri("https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"),
        ArchiveMd5: "03b5dce01913d631647c71ecec9e9cb8");

    public static CifarLayout For(CifarKind kind) => kind switch
    {
        CifarKind.Cifar10 => Cifar10,
        CifarKind.Cifar100 => Cifar100,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown CIFAR kind"),
    };

    public IReadOnlyList<string> FilesOf(DataSplit split) => split == DataSplit.Train ? TrainFiles : TestFiles;

    public int RecordsPerFile(DataSplit split) => split == DataSplit.Train ? RecordsPerTrainFile : RecordsPerTestFile;

    /// <summary>Every data file of both splits.</summary>
    public IEnumerable<string> AllFiles => TrainFiles.Concat(TestFiles);

    /// <summary>
    /// The folder that holds the data files: <paramref name="dataDir"/> itself, or its
    /// <see cref="FolderName"/> subfolder (users often point at the folder they extracted into).
    /// Returns <paramref name="dataDir"/> when neither holds the first file, so that the reader's
    /// message names the folder the user gave.
    /// </summary>
    public string ResolveDirectory(string dataDir)
    {
        string first = FilesOf(DataSplit.Train)[0];
        if (File.Exists(Path.Combine(dataDir, first))) return dataDir;
        string nested = Path.Combine(dataDir, FolderName);
        return File.Exists(Path.Combine(nested, first)) ? nested : dataDir;
    }
}
