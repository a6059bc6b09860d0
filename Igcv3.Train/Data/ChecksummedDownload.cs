using System.Security.Cryptography;
using Igcv3.Engine.IO;

namespace Igcv3.Train.Data;

/// <summary>
/// Downloads one file and checks its MD5 as the bytes arrive. Atomic: the file is written to a
/// temporary name and renamed into place only once the checksum is right, so an interrupted or
/// corrupt download leaves nothing behind. Every failure is a <see cref="DataException"/> that
/// ends with <c>manual</c> (how to get the file by hand).
/// </summary>
public static class ChecksummedDownload
{
    public static async Task DownloadAsync(HttpClient http, Uri url, string path, string md5, string manual,
        IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        string name = Path.GetFileName(path);
        try
        {
            await AtomicFile.WriteAsync(path, async (file, token) =>
            {
                using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, token).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                    throw new DataException($"downloading {url} failed: HTTP {(int)response.StatusCode} {response.ReasonPhrase}. {manual}");
                long? total = response.Content.Headers.ContentLength;
                await using var body = await response.Content.ReadAsStreamAsync(token).ConfigureAwait(false);
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
                var buffer = new byte[1 << 16];
                long received = 0;
                int read;
                while ((read = await body.ReadAsync(buffer, token).ConfigureAwait(false)) > 0)
                {
                    hash.AppendData(buffer, 0, read);
                    await file.WriteAsync(buffer.AsMemory(0, read), token).ConfigureAwait(false);
                    received += read;
                    progress?.Report(new DownloadProgress(received, total));
                }
                string actual = Convert.ToHexStringLower(hash.GetHashAndReset());
                // Throwing here, inside the atomic write, deletes the temporary file: nothing is kept.
                if (!actual.Equals(md5, StringComparison.OrdinalIgnoreCase))
                    throw new DataException(
                        $"{name} from {url} has MD5 {actual}, expected {md5.ToLowerInvariant()}: the download is corrupt or the server sent another file, and nothing was kept. Try again, or {char.ToLowerInvariant(manual[0])}{manual[1..]}");
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new DataException($"downloading {url} failed: {e.Message}. {manual}", e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new DataException($"downloading {url} timed out. {manual}", e);
        }
    }

    public static string Md5Of(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(MD5.HashData(stream));
    }
}
