using Igcv3.Tests.Support;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using Igcv3.Train.Data;
using Xunit;

namespace Igcv3.Tests.Train;

/// <summary>The downloader against a local HTTP server on 127.0.0.1 serving an archive the test builds: no internet.</summary>
public class CifarDownloaderTests
{
    private static (byte[] Archive, Dictionary<string, byte[]> Files) BuildArchive() => FakeCifar.Archive(FakeCifar.TinyCifar10, seed: 21);

    private static CifarLayout LayoutServedBy(LocalHttpServer server, string md5) =>
        FakeCifar.TinyCifar10 with { ArchiveUrl = new Uri(server.BaseUrl, "cifar-10-binary.tar.gz"), ArchiveMd5 = md5 };

    [Fact]
    public async Task GoodArchive_IsDownloadedVerifiedAndExtracted_AndLoads()
    {
        var (archive, files) = BuildArchive();
        using var server = new LocalHttpServer("/cifar-10-binary.tar.gz", archive);
        using var cache = new TempFolder();
        using var http = new HttpClient();
        var layout = LayoutServedBy(server, Convert.ToHexStringLower(MD5.HashData(archive)));
        var reports = new List<DownloadProgress>();

        string folder = await new CifarDownloader(http).EnsureAsync(layout, cache.Path, new SyncProgress(reports.Add),
            TestContext.Current.CancellationToken);

        Assert.Equal(Path.Combine(cache.Path, "cifar-10-batches-bin"), folder);
        foreach (var (name, bytes) in files) Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(folder, name)));
        Assert.Equal(archive, File.ReadAllBytes(cache.File("cifar-10-binary.tar.gz"))); // kept for re-extraction
        Assert.DoesNotContain(cache.Entries(), e => Path.GetFileName(e).Contains(".tmp-"));
        Assert.Equal(archive.Length, reports[^1].BytesReceived);
        Assert.Equal(archive.Length, reports[^1].TotalBytes);
        Assert.Equal(15, CifarReader.Load(layout, cache.Path, DataSplit.Train).Count);
    }

    [Fact]
    public async Task SecondCall_FindsTheFolder_AndDownloadsNothing()
    {
        var (archive, _) = BuildArchive();
        using var server = new LocalHttpServer("/cifar-10-binary.tar.gz", archive);
        using var cache = new TempFolder();
        using var http = new HttpClient();
        var layout = LayoutServedBy(server, Convert.ToHexStringLower(MD5.HashData(archive)));
        var downloader = new CifarDownloader(http);

        await downloader.EnsureAsync(layout, cache.Path, cancellationToken: TestContext.Current.CancellationToken);
        await downloader.EnsureAsync(layout, cache.Path, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(1, server.Requests);

        // A lost folder is re-extracted from the kept archive, still without a request.
        Directory.Delete(Path.Combine(cache.Path, "cifar-10-batches-bin"), recursive: true);
        await downloader.EnsureAsync(layout, cache.Path, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(1, server.Requests);
        Assert.True(File.Exists(Path.Combine(cache.Path, "cifar-10-batches-bin", "test_batch.bin")));
    }

    [Fact]
    public async Task WrongChecksum_IsRejected_AndNothingIsLeftBehind()
    {
        var (archive, _) = BuildArchive();
        using var server = new LocalHttpServer("/cifar-10-binary.tar.gz", archive);
        using var cache = new TempFolder();
        using var http = new HttpClient();
        var layout = LayoutServedBy(server, "00000000000000000000000000000000");

        var e = await Assert.ThrowsAsync<DataException>(() =>
            new CifarDownloader(http).EnsureAsync(layout, cache.Path, cancellationToken: TestContext.Current.CancellationToken));

        Assert.Contains($"has MD5 {Convert.ToHexStringLower(MD5.HashData(archive))}, expected 00000000000000000000000000000000", e.Message);
        Assert.Contains("nothing was kept", e.Message);
        Assert.Empty(cache.Entries());
    }

    [Fact]
    public async Task MissingArchive_404_IsADataExceptionNamingTheUrl()
    {
        using var server = new LocalHttpServer("/elsewhere.tar.gz", [1, 2, 3]);
        using var cache = new TempFolder();
        using var http = new HttpClient();
        var layout = LayoutServedBy(server, "00000000000000000000000000000000");

        var e = await Assert.ThrowsAsync<DataException>(() =>
            new CifarDownloader(http).EnsureAsync(layout, cache.Path, cancellationToken: TestContext.Current.CancellationToken));

        Assert.StartsWith($"downloading {layout.ArchiveUrl} failed: HTTP 404", e.Message);
        Assert.Empty(cache.Entries());
    }

    [Fact]
    public async Task ArchiveWithoutTheReleaseFolder_IsRejected_AndNoFolderAppears()
    {
        using var source = new TempFolder();
        File.WriteAllText(source.File("readme.txt"), "not CIFAR");
        using var tarGz = new MemoryStream();
        using (var gzip = new GZipStream(tarGz, CompressionLevel.Fastest, leaveOpen: true))
            TarFile.CreateFromDirectory(source.Path, gzip, includeBaseDirectory: false);
        byte[] archive = tarGz.ToArray();
        using var server = new LocalHttpServer("/cifar-10-binary.tar.gz", archive);
        using var cache = new TempFolder();
        using var http = new HttpClient();

        var e = await Assert.ThrowsAsync<DataException>(() => new CifarDownloader(http).EnsureAsync(
            LayoutServedBy(server, Convert.ToHexStringLower(MD5.HashData(archive))), cache.Path,
            cancellationToken: TestContext.Current.CancellationToken));

        Assert.Contains("holds no cifar-10-batches-bin folder", e.Message);
        Assert.Equal(["cifar-10-binary.tar.gz"], cache.Entries()); // the verified archive stays; no half-extracted folder
    }

    /// <summary>IProgress that reports on the calling thread (Progress&lt;T&gt; posts to the thread pool, out of order).</summary>
    private sealed class SyncProgress(Action<DownloadProgress> report) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => report(value);
    }
}
