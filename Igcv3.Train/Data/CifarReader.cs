namespace Igcv3.Train.Data;

/// <summary>
/// Reads the CIFAR binary releases. Every file of the split is checked for presence and exact size
/// before anything is read, so a truncated download fails at once with a message naming the file,
/// not halfway through an epoch.
/// </summary>
public static class CifarReader
{
    private const int RecordsPerChunk = 1_000; // read in ~3 MB pieces: no 150 MB staging buffer

    /// <summary>
    /// Loads <paramref name="split"/> from <paramref name="dataDir"/> (or its release subfolder).
    /// <paramref name="maxImages"/> keeps only the first K records in file order, reading no more
    /// of the files than those need (all files are still size-checked).
    /// </summary>
    public static ImageDataset Load(CifarLayout layout, string dataDir, DataSplit split, int? maxImages = null)
    {
        ArgumentNullException.ThrowIfNull(layout);
        if (maxImages < 0) throw new ArgumentOutOfRangeException(nameof(maxImages), $"{layout.DisplayName}: cannot load {maxImages} images");

        string directory = layout.ResolveDirectory(dataDir);
        var files = layout.FilesOf(split);
        int perFile = layout.RecordsPerFile(split);
        foreach (string file in files) ValidateFile(layout, directory, file, perFile);

        int count = Math.Min(files.Count * perFile, maxImages ?? int.MaxValue);
        var pixels = new byte[(long)count * CifarLayout.ImageBytes]; // [N, 3, 32, 32]
        var labels = new int[count];                                 // [N]
        int loaded = 0;
        foreach (string file in files)
        {
            if (loaded == count) break;
            int take = Math.Min(perFile, count - loaded);
            ReadRecords(layout, Path.Combine(directory, file), take, pixels, labels, loaded);
            loaded += take;
        }

        string name = $"{layout.DisplayName} {split.ToString().ToLowerInvariant()}";
        return new ImageDataset(name, pixels, labels, CifarLayout.Channels, CifarLayout.Height, CifarLayout.Width,
            CifarClassNames.Load(layout, directory));
    }

    /// <summary>Throws a <see cref="DataException"/> unless <paramref name="file"/> exists and holds exactly <paramref name="records"/> records.</summary>
    public static void ValidateFile(CifarLayout layout, string directory, string file, int records)
    {
        string path = Path.Combine(directory, file);
        if (!File.Exists(path))
            throw new DataException(
                $"{file} is missing from {directory}; a {layout.DisplayName} release has {string.Join(", ", layout.AllFiles)}. {Hint(layout, "Download it again with --download")}");

        // A symbolic link's own length is that of the path it holds: measure what it points to.
        var info = new FileInfo(path);
        long length = (info.LinkTarget is null ? info : info.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? info).Length;
        long expected = (long)records * layout.RecordBytes;
        if (length == expected) return;
        string shape = length % layout.RecordBytes == 0 ? "" : $", not a whole number of {layout.RecordBytes:N0}-byte records";
        throw new DataException(
            $"{file} is {length:N0} bytes{shape}; a {layout.DisplayName} {layout.FileNoun} is {expected:N0} bytes ({records:N0} records of {layout.RecordBytes:N0}). {Hint(layout, "Delete it and download again with --download")}");
    }

    // --download fetches a release when a file is missing; a file of the wrong size must go first.
    private static string Hint(CifarLayout layout, string download) =>
        $"{download}, or point --data-dir at the extracted {layout.FolderName} folder";

    /// <summary>Reads the first <paramref name="take"/> records of one file into pixels/labels at image <paramref name="first"/>.</summary>
    private static void ReadRecords(CifarLayout layout, string path, int take, byte[] pixels, int[] labels, int first)
    {
        int recordBytes = layout.RecordBytes;
        var chunk = new byte[Math.Min(take, RecordsPerChunk) * recordBytes]; // [records, label bytes + 3072]
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        for (int done = 0; done < take;)
        {
            int n = Math.Min(RecordsPerChunk, take - done);
            stream.ReadExactly(chunk, 0, n * recordBytes);
            for (int r = 0; r < n; r++)
            {
                int record = done + r;
                int label = chunk[r * recordBytes + layout.LabelOffset];
                if (label >= layout.ClassCount)
                    throw new DataException(
                        $"{Path.GetFileName(path)}: record {record:N0} has label {label}; {layout.DisplayName} labels are 0..{layout.ClassCount - 1}, so the file is corrupt or from another data set. {Hint(layout, "Delete it and download again with --download")}");
                labels[first + record] = label;
                chunk.AsSpan(r * recordBytes + layout.LabelBytes, CifarLayout.ImageBytes)
                    .CopyTo(pixels.AsSpan((first + record) * CifarLayout.ImageBytes));
            }
            done += n;
        }
    }
}
