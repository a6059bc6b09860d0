using System.Formats.Tar;
using System.IO.Compression;
using Igcv3.Engine.IO;

namespace Igcv3.Train.Data;

/// <summary>Bytes received so far and the announced total (null when the server sends no length).</summary>
public readonly record struct DownloadProgress(long BytesReceived, long? TotalBytes);

/// <summary>
/// Fetches a CIFAR binary release into a cache folder: downloads the archive, checks its MD5
/// against <see cref="CifarLayout.ArchiveMd5"/>, and extracts it. Each step is atomic, so an
/// interrupted run leaves either nothing or a complete result, never half of one:
/// the archive is written to a temporary file and renamed once its checksum is right, and the
/// release folder is extracted into a temporary folder and renamed into place once complete.
/// The archive is kept, so a lost folder is re-extracted without a new download.
/// </summary>
public sealed class CifarDownloader
{
    private readonly HttpClient _http;

    public CifarDownloader(HttpClient http) => _http = http ?? throw new ArgumentNullException(nameof(http));

    /// <summary>
    /// The folder <paramref name="cacheDir"/>/<see cref="CifarLayout.FolderName"/> holding every
    /// file of the release, downloaded and extracted first where it is not there yet.
    /// </summary>
    public async Task<string> EnsureAsync(CifarLayout layout, string cacheDir, IProgress<DownloadProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(layout);
        Directory.CreateDirectory(cacheDir);
        string target = Path.Combine(cacheDir, layout.FolderName);
        if (HasAllFiles(layout, target)) return target;

        string archive = Path.Combine(cacheDir, layout.ArchiveName);
        if (!File.Exists(archive) || !ChecksummedDownload.Md5Of(archive).Equals(layout.ArchiveMd5, StringComparison.OrdinalIgnoreCase))
            await DownloadAsync(layout, archive, progress, cancellationToken).ConfigureAwait(false);
        Extract(layout, archive, target);
        return target;
    }

    private Task DownloadAsync(CifarLayout layout, string archive, IProgress<DownloadProgress>? progress, CancellationToken cancellationToken) =>
        ChecksummedDownload.DownloadAsync(_http, layout.ArchiveUrl, archive, layout.ArchiveMd5,
            $"Download {layout.ArchiveUrl} by hand, extract it, and point --data-dir at the {layout.FolderName} folder", progress, cancellationToken);

    private static void Extract(CifarLayout layout, string archive, string target)
    {
        string staging = AtomicFile.TempPathFor(target);
        try
        {
            Directory.CreateDirectory(staging);
            using (var file = File.OpenRead(archive))
            using (var gzip = new GZipStream(file, CompressionMode.Decompress))
            {
                // ExtractToDirectory refuses entries that would land outside the folder.
                TarFile.ExtractToDirectory(gzip, staging, overwriteFiles: false);
            }
            string extracted = Path.Combine(staging, layout.FolderName);
            if (!HasAllFiles(layout, extracted))
                throw new DataException(
                    $"{layout.ArchiveName} holds no {layout.FolderName} folder with {string.Join(", ", layout.AllFiles)}, so it is not the {layout.DisplayName} binary release. Delete {archive} and try again");
            if (Directory.Exists(target)) Directory.Delete(target, recursive: true); // an incomplete copy put there by hand
            Directory.Move(extracted, target);
        }
        catch (InvalidDataException e)
        {
            throw new DataException($"{archive} is not a readable .tar.gz ({e.Message}). Delete it and try again", e);
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
    }

    /// <summary>Whether <paramref name="folder"/> holds every data file of the release (sizes are the reader's to check).</summary>
    public static bool HasAllFiles(CifarLayout layout, string folder) =>
        Directory.Exists(folder) && layout.AllFiles.All(file => File.Exists(Path.Combine(folder, file)));
}
