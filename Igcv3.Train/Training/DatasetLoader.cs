using Igcv3.Train.Data;
using Igcv3.Train.Data.Images;
using Igcv3.Train.Settings;

namespace Igcv3.Train.Training;

/// <summary>The two splits of a run and how their pixels are normalised.</summary>
public sealed record RunData(ImageDataset Train, ImageDataset Test, ChannelNormalization Normalization)
{
    public int ClassCount => Train.ClassCount;
}

/// <summary>
/// Loads --dataset: the CIFAR binary files from --data-dir (downloaded there first with
/// --download), or the synthetic set; --limit-train / --limit-test keep the first N images.
/// Missing or wrong-sized files fail with a <see cref="DataException"/> before anything is written.
/// </summary>
public static class DatasetLoader
{
    /// <summary>Classes of --dataset, known without reading any file (for summary and for building the network first).</summary>
    public static int ClassCount(string dataset) => dataset switch
    {
        "cifar100" => 100,
        "imagenet" => ImageNetLayout.ImageNetClasses,
        _ => 10,
    };

    /// <summary>Classes of the run's data: for imagenet the class folders in --data-dir (a subset trains with fewer), else as <see cref="ClassCount(string)"/>.</summary>
    public static int ClassCount(RunSettings s) => s.Dataset == "imagenet" ? ImageNetLayout.ClassCount(s.DataDir) : ClassCount(s.Dataset);

    public static RunData Load(RunSettings s, TextWriter log, Func<CifarKind, CifarLayout> layouts, bool testOnly = false, CancellationToken cancellation = default)
    {
        if (s.Dataset == "synthetic")
        {
            // Different seeds for the two splits: the test images are not copies of training images.
            var full = SyntheticTrainSet(s);
            var test = SyntheticDataset.Create(Limit(s.SyntheticTest, s.LimitTest), seed: s.Seed * 2 + 2);
            // Statistics of the whole training set, so that --limit-train and eval normalise alike.
            var train = s.LimitTrain is { } limit ? full.Take(limit) : full;
            return new RunData(train, test, ChannelNormalization.FromDataset(full));
        }

        if (s.Dataset == "svhn") return Svhn(s, log, testOnly, cancellation);

        var layout = layouts(s.Dataset == "cifar100" ? CifarKind.Cifar100 : CifarKind.Cifar10);
        string dataDir = s.DataDir;
        if (s.Download && !CifarDownloader.HasAllFiles(layout, layout.ResolveDirectory(dataDir)))
        {
            log.WriteLine($"Downloading {layout.ArchiveUrl} into {dataDir} (MD5-checked)...");
            using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(30) };
            dataDir = new CifarDownloader(http).EnsureAsync(layout, dataDir, new TenthsProgress(log), cancellation).GetAwaiter().GetResult();
        }
        // Check every file of both splits up front, so a missing test file is not found after an epoch of training.
        string directory = layout.ResolveDirectory(dataDir);
        if (!Directory.Exists(directory))
            throw new DataException($"data folder {Path.GetFullPath(dataDir)} does not exist; point --data-dir at the {layout.FolderName} folder, or add --download to fetch {layout.DisplayName}");
        foreach (var split in new[] { DataSplit.Train, DataSplit.Test })
            foreach (string file in layout.FilesOf(split))
                CifarReader.ValidateFile(layout, directory, file, layout.RecordsPerFile(split));
        var trainSet = testOnly ? null : CifarReader.Load(layout, dataDir, DataSplit.Train, s.LimitTrain);
        var testSet = CifarReader.Load(layout, dataDir, DataSplit.Test, s.LimitTest);
        return new RunData(trainSet ?? testSet.Take(1), testSet, Normalization(s));
    }

    /// <summary>
    /// SVHN from the .mat files in --data-dir (or its svhn/ folder, where --download puts them);
    /// --svhn-extra adds extra_32x32.mat to the training set. Normalised by the training set's statistics.
    /// </summary>
    private static RunData Svhn(RunSettings s, TextWriter log, bool testOnly, CancellationToken cancellation)
    {
        string folder = SvhnFolder(s);
        var parts = new List<(string File, string Md5)> { SvhnReader.Train, SvhnReader.Test };
        if (s.SvhnExtra) parts.Add(SvhnReader.Extra);
        if (s.Download)
        {
            log.WriteLine($"Fetching the SVHN files that are missing from {folder} ({SvhnReader.BaseUrl}, MD5-checked)...");
            using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(60) };
            new SvhnDownloader(http).EnsureAsync(folder, parts, new TenthsProgress(log), cancellation).GetAwaiter().GetResult();
        }
        // Every file up front, so a missing test file is not found after an epoch of training.
        foreach (var (file, _) in parts)
            if (!File.Exists(Path.Combine(folder, file)))
                throw new DataException($"{Path.GetFullPath(Path.Combine(folder, file))} is missing; add --download to fetch SVHN, or point --data-dir at the folder holding {string.Join(", ", parts.Select(p => p.File))}");
        var test = SvhnReader.Load(Path.Combine(folder, SvhnReader.Test.File), "SVHN test", s.LimitTest);
        // Normalised by the statistics of the whole of train_32x32.mat, whatever is trained on, so that eval normalises alike.
        var train = SvhnReader.Load(Path.Combine(folder, SvhnReader.Train.File), "SVHN");
        var normalization = ChannelNormalization.FromDataset(train);
        if (testOnly) return new RunData(test.Take(1), test, normalization);
        if (s.SvhnExtra) train = ImageDataset.Concat("SVHN train+extra", train, SvhnReader.Load(Path.Combine(folder, SvhnReader.Extra.File), "SVHN extra"));
        return new RunData(s.LimitTrain is { } limit ? train.Take(limit) : train, test, normalization);
    }

    /// <summary>How --dataset's pixels are normalised, known without reading its files (a
    /// synthetic set's statistics are those of its generated training split): what export and
    /// predict apply to images outside the dataset.</summary>
    public static ChannelNormalization Normalization(RunSettings s) => s.Dataset switch
    {
        "synthetic" => ChannelNormalization.FromDataset(SyntheticTrainSet(s)),
        "cifar100" => ChannelNormalization.Cifar100,
        "imagenet" => ChannelNormalization.ImageNet,
        // SVHN's are its training file's statistics: that file is read (it must be in --data-dir).
        "svhn" => ChannelNormalization.FromDataset(SvhnReader.Load(Path.Combine(SvhnFolder(s), SvhnReader.Train.File), "SVHN")),
        _ => ChannelNormalization.Cifar10,
    };

    /// <summary>--dataset's class names in label order: the release's names file where --data-dir
    /// holds it, else the built-in names ("class_0".. for CIFAR-100 and synthetic data).</summary>
    public static IReadOnlyList<string> ClassNames(RunSettings s, Func<CifarKind, CifarLayout> layouts)
    {
        if (s.Dataset == "svhn") return SvhnReader.ClassNames;
        if (s.Dataset == "imagenet") return ImageNetLayout.ClassNames(s.DataDir);
        int classes = ClassCount(s.Dataset);
        if (s.Dataset == "synthetic") return Enumerable.Range(0, classes).Select(i => $"class_{i}").ToArray();
        var layout = layouts(s.Dataset == "cifar100" ? CifarKind.Cifar100 : CifarKind.Cifar10);
        return CifarClassNames.Load(layout, layout.ResolveDirectory(s.DataDir));
    }

    // The whole synthetic training split, before --limit-train (its statistics normalise every split).
    private static ImageDataset SyntheticTrainSet(RunSettings s) => SyntheticDataset.Create(s.SyntheticTrain, seed: s.Seed * 2 + 1);

    /// <summary>Where SVHN's files are: --data-dir itself when it holds them, else its svhn/ folder (where --download puts them).</summary>
    private static string SvhnFolder(RunSettings s) =>
        File.Exists(Path.Combine(s.DataDir, SvhnReader.Train.File)) || File.Exists(Path.Combine(s.DataDir, SvhnReader.Test.File))
            ? s.DataDir
            : Path.Combine(s.DataDir, SvhnReader.FolderName);

    private static int Limit(int count, int? limit) => limit is { } l ? Math.Min(count, l) : count;

    /// <summary>A download's progress as one line per tenth received (the archives are 160 MB:
    /// minutes on a slow link), reported on the downloading thread.</summary>
    private sealed class TenthsProgress(TextWriter log) : IProgress<DownloadProgress>
    {
        private int _tenths;

        public void Report(DownloadProgress value)
        {
            if (value.TotalBytes is not > 0) return;
            int tenths = (int)(10 * value.BytesReceived / value.TotalBytes.Value);
            if (tenths <= _tenths) return;
            _tenths = tenths;
            log.WriteLine($"  {10 * tenths}% of {value.TotalBytes.Value / 1e6:F0} MB");
        }
    }
}
