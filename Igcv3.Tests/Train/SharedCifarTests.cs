using System.Security.Cryptography;
using Igcv3.Tests.Support;
using Igcv3.Train.Data;
using Xunit;

namespace Igcv3.Tests.Train;

/// <summary>Checks against the project's shared CIFAR-10 copy (../shared/data/cifar10 beside the repository), skipped where it is absent.</summary>
public class SharedCifarTests
{
    /// <summary>
    /// The shared copy's folder, or null: from the checkout the tests were built in, look for
    /// shared/data/cifar10 inside it (where a device host's copy of the working tree carries it) or
    /// beside any folder above it (the main checkout's neighbour, a worktree's /work/shared).
    /// </summary>
    internal static string? FindSharedCifar10()
    {
        for (var root = RepositoryRoot.Find(); root is not null; root = root.Parent)
        {
            string candidate = Path.Combine(root.FullName, "shared", "data", "cifar10", "cifar-10-batches-bin");
            if (Directory.Exists(candidate)) return Path.GetFullPath(candidate);
        }
        return null;
    }

    private static string RequireShared()
    {
        string? folder = FindSharedCifar10();
        if (folder is null)
            Assert.Skip("the shared CIFAR-10 copy (../shared/data/cifar10/cifar-10-batches-bin beside the repository) is not on this machine");
        return folder;
    }

    [Fact]
    public void FirstThousandImagesOfBatch1_HaveValidLabels_AndMatchTheFileBytes()
    {
        string folder = RequireShared();

        var data = CifarReader.Load(CifarLayout.Cifar10, folder, DataSplit.Train, maxImages: 1000);

        Assert.Equal(1000, data.Count);
        Assert.All(data.Labels.ToArray(), label => Assert.InRange(label, 0, 9));
        // The training images were shuffled into the batches: 1,000 of them cover every class.
        Assert.Equal(10, data.Labels.ToArray().Distinct().Count());
        // Independent read of the raw records: label byte then 3,072 pixel bytes.
        using var stream = File.OpenRead(Path.Combine(folder, "data_batch_1.bin"));
        var record = new byte[3073];
        for (int i = 0; i < 1000; i++)
        {
            stream.ReadExactly(record);
            Assert.Equal(record[0], data.Label(i));
            Assert.True(record.AsSpan(1).SequenceEqual(data.Image(i)), $"image {i} differs from its record");
        }
        Assert.Equal(["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"], data.ClassNames);
    }

    [Fact]
    public void Batch1_Sha256_MatchesSha256Sums()
    {
        string folder = RequireShared();
        string expected = File.ReadLines(Path.Combine(folder, "SHA256SUMS"))
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Single(fields => fields[1] == "data_batch_1.bin")[0];

        using var stream = File.OpenRead(Path.Combine(folder, "data_batch_1.bin"));
        Assert.Equal(expected, Convert.ToHexStringLower(SHA256.HashData(stream)));
    }

    [Fact]
    public void TestSplitStatistics_AreCloseToTheDocumentedCifar10Constants()
    {
        string folder = RequireShared();

        var test = CifarReader.Load(CifarLayout.Cifar10, folder, DataSplit.Test);
        var stats = ChannelNormalization.FromDataset(test);

        Assert.Equal(10_000, test.Count);
        // Test split, JPEG-decoded copy: a little off the training-set values, well within 0.01.
        for (int c = 0; c < 3; c++)
        {
            Assert.InRange(stats.Mean[c], ChannelNormalization.Cifar10.Mean[c] - 0.01f, ChannelNormalization.Cifar10.Mean[c] + 0.01f);
            Assert.InRange(stats.Std[c], ChannelNormalization.Cifar10.Std[c] - 0.01f, ChannelNormalization.Cifar10.Std[c] + 0.01f);
        }
    }
}
