using System.Security.Cryptography;
using System.Text;

namespace Igcv3.Engine.IO;

/// <summary>
/// Replaces a file all at once: the content goes to a temporary file in the same folder, is flushed
/// to disk, and is then renamed over the target. A reader (or a crash) sees the old file or the new
/// one, never half of one. Used for every file the project rewrites (checkpoints, metrics, curves page,
/// downloads).
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="write"/>'s output to <paramref name="path"/> atomically.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        string temp = TempPathFor(path);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            // rename(2) over an existing file is atomic on POSIX; on Windows this is MoveFileEx with
            // REPLACE_EXISTING, which is as close as the platform offers.
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Asynchronous form of <see cref="Write"/>; a throwing <paramref name="write"/> leaves no file behind.</summary>
    public static async Task WriteAsync(string path, Func<Stream, CancellationToken, Task> write, CancellationToken cancellationToken = default)
    {
        string temp = TempPathFor(path);
        try
        {
            await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None,
                             bufferSize: 1 << 16, useAsync: true))
            {
                await write(stream, cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Writes UTF-8 text (no byte-order mark) atomically.</summary>
    public static void WriteAllText(string path, string text) =>
        Write(path, stream => stream.Write(new UTF8Encoding(false).GetBytes(text)));

    /// <summary>Writes bytes atomically.</summary>
    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, stream => stream.Write(bytes));

    /// <summary>
    /// A fresh temporary name beside <paramref name="path"/>: same folder, so the final rename never
    /// crosses file systems; a leading dot and a ".tmp-" marker so that leftovers are recognisable.
    /// </summary>
    public static string TempPathFor(string path)
    {
        string full = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(full) ?? throw new ArgumentException($"atomic write: '{path}' has no folder");
        Directory.CreateDirectory(folder);
        string suffix = Convert.ToHexString(RandomNumberGenerator.GetBytes(6)).ToLowerInvariant();
        return Path.Combine(folder, $".{Path.GetFileName(full)}.tmp-{suffix}");
    }

    /// <summary>True for names made by <see cref="TempPathFor"/> (for tests and clean-up).</summary>
    public static bool IsTempName(string fileName) => fileName.StartsWith('.') && fileName.Contains(".tmp-", StringComparison.Ordinal);

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
