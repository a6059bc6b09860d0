namespace Igcv3.Train.Data;

/// <summary>Class names in label order: read from the release's names file, else built in.</summary>
public static class CifarClassNames
{
    /// <summary>CIFAR-10's classes in label order (as in batches.meta.txt).</summary>
    public static readonly IReadOnlyList<string> Cifar10 =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>
    /// The names listed in <paramref name="layout"/>'s names file in <paramref name="directory"/>
    /// when it holds exactly ClassCount non-empty lines; otherwise CIFAR-10's built-in list, or
    /// "class_0".."class_99" for CIFAR-100 (names only label the output, so a missing file is no error).
    /// </summary>
    public static IReadOnlyList<string> Load(CifarLayout layout, string directory)
    {
        if (layout.ClassNamesFile is { } file && File.Exists(Path.Combine(directory, file)))
        {
            var names = File.ReadAllLines(Path.Combine(directory, file))
                .Select(line => line.Trim())
                .Where(line => line.Length > 0)
                .ToArray();
            if (names.Length == layout.ClassCount) return names;
        }
        if (layout.ClassCount == Cifar10.Count) return Cifar10;
        return Enumerable.Range(0, layout.ClassCount).Select(i => $"class_{i}").ToArray();
    }
}
