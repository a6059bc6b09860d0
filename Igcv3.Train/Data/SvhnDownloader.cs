namespace Igcv3.Train.Data;

/// <summary>
/// Fetches the SVHN .mat files that are not in the folder yet, each MD5-checked as it arrives and
/// written atomically (<see cref="ChecksummedDownload"/>); files already there are kept as they are
/// (the reader finds a damaged one).
/// </summary>
public sealed class SvhnDownloader(HttpClient http, Uri? baseUrl = null)
{
    private readonly Uri _baseUrl = baseUrl ?? SvhnReader.BaseUrl;

    public async Task EnsureAsync(string folder, IEnumerable<(string File, string Md5)> files, IProgress<DownloadProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(folder);
        foreach (var (file, md5) in files)
        {
            string path = Path.Combine(folder, file);
            if (File.Exists(path)) continue;
            var url = new Uri(_baseUrl, file);
            await ChecksummedDownload.DownloadAsync(http, url, path, md5, $"Download {url} by hand into {Path.GetFullPath(folder)}", progress, cancellationToken)
                .ConfigureAwait(false);
        }
    }
}
