namespace Igcv3.Engine.Checkpoints;

/// <summary>
/// Replaces a file all at once: the content goes to a temporary file in the same folder (the same
/// file system, so the final rename is atomic), is flushed to disk, and only then renamed over the
/// target. A crash or exception at any point leaves either the old file or the new one, never a
/// half-written one; on an exception the temporary file is removed.
/// </summary>
public static class AtomicFile
{
    /// <summary>Suffix of the temporary files, so a folder listing shows what a crash left behind.</summary>
    public const string TempSuffix = ".tmp";

    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        string target = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(target) ?? throw new ArgumentException($"'{path}' has no parent folder", nameof(path));
        // A unique name per attempt: two savers never write into one temp file.
        string temp = Path.Combine(folder, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}{TempSuffix}");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                // Data on disk before the rename makes it visible: otherwise a power cut could leave
                // the new name pointing at an empty or partial file.
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, target, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    private static void TryDelete(string temp)
    {
        try
        {
            File.Delete(temp);
        }
        catch (IOException)
        {
            // Best effort: the original exception is the one worth reporting.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
