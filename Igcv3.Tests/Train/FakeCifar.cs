using System.Formats.Tar;
using System.IO.Compression;
using Igcv3.Tests.Support;
using Igcv3.Train.Data;

namespace Igcv3.Tests.Train;

/// <summary>Writes small CIFAR-format files with random records and remembers what it wrote.</summary>
public static class FakeCifar
{
    /// <summary>CIFAR-10's file set with 3 records per training file and 2 in the test file.</summary>
    public static readonly CifarLayout TinyCifar10 = CifarLayout.Cifar10 with { RecordsPerTrainFile = 3, RecordsPerTestFile = 2 };

    public static readonly CifarLayout TinyCifar100 = CifarLayout.Cifar100 with { RecordsPerTrainFile = 4, RecordsPerTestFile = 3 };

    /// <summary>One record as written: the labels bytes and the 3,072 pixel bytes.</summary>
    public sealed record Record(byte[] LabelBytes, byte[] Pixels);

    /// <summary>Writes every file of <paramref name="layout"/> into <paramref name="folder"/>; returns the records per file.</summary>
    public static Dictionary<string, Record[]> WriteRelease(CifarLayout layout, string folder, int seed)
    {
        Directory.CreateDirectory(folder);
        var random = new Random(seed);
        var written = new Dictionary<string, Record[]>();
        foreach (var split in new[] { DataSplit.Train, DataSplit.Test })
        foreach (string file in layout.FilesOf(split))
        {
            var records = new Record[layout.RecordsPerFile(split)];
            using var stream = File.Create(Path.Combine(folder, file));
            for (int r = 0; r < records.Length; r++)
            {
                var labelBytes = new byte[layout.LabelBytes];
                int fine = random.Next(layout.ClassCount);
                labelBytes[layout.LabelOffset] = (byte)fine;
                if (layout.LabelBytes == 2) labelBytes[0] = (byte)(fine / 5); // CIFAR-100's coarse label: 20 superclasses
                var pixels = new byte[CifarLayout.ImageBytes];
                random.NextBytes(pixels);
                stream.Write(labelBytes);
                stream.Write(pixels);
                records[r] = new Record(labelBytes, pixels);
            }
            written[file] = records;
        }
        return written;
    }

    /// <summary>A .tar.gz as the official release is packed: the layout's folder with every data
    /// file and the class-names file. Returns the archive's bytes and each file's contents.</summary>
    public static (byte[] Archive, Dictionary<string, byte[]> Files) Archive(CifarLayout layout, int seed)
    {
        using var source = new TempFolder();
        string release = Path.Combine(source.Path, layout.FolderName);
        WriteRelease(layout, release, seed);
        if (layout.ClassNamesFile is { } names)
        {
            var classes = layout.ClassCount == 10 ? CifarClassNames.Cifar10 : Enumerable.Range(0, layout.ClassCount).Select(c => $"class{c}");
            File.WriteAllText(Path.Combine(release, names), string.Join("\n", classes) + "\n");
        }
        var files = Directory.GetFiles(release).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);
        using var archive = new MemoryStream();
        using (var gzip = new GZipStream(archive, CompressionLevel.Fastest, leaveOpen: true))
            TarFile.CreateFromDirectory(source.Path, gzip, includeBaseDirectory: false);
        return (archive.ToArray(), files);
    }
}
