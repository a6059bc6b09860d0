using Igcv3.Train.Data;
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
    public static int ClassCount(string dataset) => dataset == "cifar100" ? 100 : 10;

    public static RunData Load(RunSettings s, TextWriter log, bool testOnly = false)
    {
        if (s.Dataset == "synthetic")
        {
            // Different seeds for the two splits: the test images are not copies of training images.
            var full = SyntheticDataset.Create(s.SyntheticTrain, seed: s.Seed * 2 + 1);
            var test = SyntheticDataset.Create(Limit(s.SyntheticTest, s.LimitTest), seed: s.Seed * 2 + 2);
            // Statistics of the whole training set, so that --limit-train and eval normalise alike.
            var train = s.LimitTrain is { } limit ? full.Take(limit) : full;
            return new RunData(train, test, ChannelNormalization.FromDataset(full));
        }

        var layout = s.Dataset == "cifar100" ? CifarLayout.Cifar100 : CifarLayout.Cifar10;
        string dataDir = s.DataDir;
        bool present = File.Exists(Path.Combine(layout.ResolveDirectory(dataDir), layout.TrainFiles[0]));
        if (s.Download && !present)
        {
            log.WriteLine($"Downloading {layout.ArchiveUrl} into {dataDir} (MD5-checked)...");
            using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(30) };
            dataDir = new CifarDownloader(http).EnsureAsync(layout, dataDir).GetAwaiter().GetResult();
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
        var normalization = s.Dataset == "cifar100" ? ChannelNormalization.Cifar100 : ChannelNormalization.Cifar10;
        return new RunData(trainSet ?? testSet.Take(1), testSet, normalization);
    }

    private static int Limit(int count, int? limit) => limit is { } l ? Math.Min(count, l) : count;
}
