namespace Igcv3.Train.Data.Images;

/// <summary>
/// A folder of class folders, root/&lt;class&gt;/**/*.JPEG, read as torchvision's ImageFolder reads it:
/// classes are the sub-folder names in ordinal (code point) order, their index that order's
/// position; images are the files with an image extension (case-insensitive) found walking each
/// class folder, folders and files in ordinal order. A class folder with no image is an error,
/// as in torchvision.
/// </summary>
public sealed class ImageFolderSource : IImageSource
{
    /// <summary>torchvision's IMG_EXTENSIONS.</summary>
    public static readonly string[] Extensions = [".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"];

    private readonly string[] _paths;
    private readonly int[] _labels;

    private ImageFolderSource(string name, string[] paths, int[] labels, string[] classNames)
    {
        Name = name;
        _paths = paths;
        _labels = labels;
        ClassNames = classNames;
    }

    public string Name { get; }
    public int Count => _paths.Length;
    public IReadOnlyList<string> ClassNames { get; }
    public int Label(int index) => _labels[index];
    public string Describe(int index) => _paths[index];

    public byte[] Read(int index)
    {
        try
        {
            return File.ReadAllBytes(_paths[index]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CorruptImageException(_paths[index], $"cannot be read ({e.Message})");
        }
    }

    /// <summary>
    /// Scans <paramref name="root"/>. With <paramref name="classNames"/> (the training set's), the
    /// folder must hold exactly those classes (a validation set must index classes as training does).
    /// </summary>
    public static ImageFolderSource Open(string root, string name, IReadOnlyList<string>? classNames = null)
    {
        if (!Directory.Exists(root)) throw new DataException($"{name}: folder {Path.GetFullPath(root)} does not exist");
        var classes = Directory.GetDirectories(root).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToArray();
        if (classes.Length == 0)
            throw new DataException($"{name}: {Path.GetFullPath(root)} has no class folders; ImageNet's layout is {Path.GetFileName(root)}/<class>/<image>.JPEG (e.g. {Path.GetFileName(root)}/n01440764/n01440764_10026.JPEG)");
        if (classNames is not null && !classes.SequenceEqual(classNames, StringComparer.Ordinal))
        {
            var missing = classNames.Except(classes, StringComparer.Ordinal).Take(3).ToArray();
            var extra = classes.Except(classNames, StringComparer.Ordinal).Take(3).ToArray();
            throw new DataException(
                $"{name}: {Path.GetFullPath(root)} has {classes.Length} class folders, the training set {classNames.Count}, and they must be the same classes"
                + (missing.Length > 0 ? $"; missing {string.Join(", ", missing)}" : "") + (extra.Length > 0 ? $"; not in training: {string.Join(", ", extra)}" : ""));
        }

        var paths = new List<string>();
        var labels = new List<int>();
        for (int label = 0; label < classes.Length; label++)
        {
            int before = paths.Count;
            AddImages(Path.Combine(root, classes[label]), paths);
            if (paths.Count == before)
                throw new DataException($"{name}: class folder {Path.Combine(Path.GetFullPath(root), classes[label])} holds no image ({string.Join(", ", Extensions)})");
            labels.AddRange(Enumerable.Repeat(label, paths.Count - before));
        }
        return new ImageFolderSource($"{name} (folder {Path.GetFullPath(root)})", [.. paths], [.. labels], classes);
    }

    /// <summary>
    /// A flat folder of images (ImageNet's val/ as distributed: ILSVRC2012_val_00000001.JPEG ...)
    /// labelled by <paramref name="labelFile"/>: Kaggle's LOC_val_solution.csv ("ImageId,PredictionString",
    /// the class the first word of the prediction string), or lines "&lt;file name&gt; &lt;class folder name&gt;".
    /// Classes are indexed as in <paramref name="classNames"/> (the training folders'); the images in file-name order.
    /// </summary>
    public static ImageFolderSource OpenFlat(string root, string labelFile, IReadOnlyList<string> classNames, string name)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int k = 0; k < classNames.Count; k++) index[classNames[k]] = k;
        bool kaggle = Path.GetFileName(labelFile).Equals("LOC_val_solution.csv", StringComparison.OrdinalIgnoreCase);
        var labelOf = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        int lineNumber = 0;
        foreach (var line in File.ReadLines(labelFile))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line) || (kaggle && lineNumber == 1)) continue;
            var fields = line.Split([',', ' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 2 || !index.TryGetValue(fields[1], out int label))
                throw new DataException($"{name}: {Path.GetFullPath(labelFile)}, line {lineNumber}: expected '<image> <class>' with a class among the {classNames.Count} training folders, got '{line}'");
            labelOf[kaggle ? fields[0] + ".JPEG" : fields[0]] = label;
        }
        return OpenFlat(root, labelOf, classNames, name, labelFile);
    }

    /// <summary>A flat folder of images labelled by file name (<paramref name="labelOf"/>); <paramref name="labelSource"/> names the labels' file in messages.</summary>
    public static ImageFolderSource OpenFlat(string root, IReadOnlyDictionary<string, int> labelOf, IReadOnlyList<string> classNames, string name, string labelSource)
    {
        var paths = Directory.GetFiles(root).Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal).ToArray();
        if (paths.Length == 0) throw new DataException($"{name}: {Path.GetFullPath(root)} holds no image ({string.Join(", ", Extensions)})");
        var labels = new int[paths.Length];
        for (int i = 0; i < paths.Length; i++)
            if (!labelOf.TryGetValue(Path.GetFileName(paths[i]), out labels[i]))
                throw new DataException($"{name}: {Path.GetFileName(paths[i])} has no label in {Path.GetFullPath(labelSource)}");
        return new ImageFolderSource($"{name} (folder {Path.GetFullPath(root)}, labels {Path.GetFileName(labelSource)})", paths, labels, [.. classNames]);
    }

    private static void AddImages(string folder, List<string> paths)
    {
        foreach (var file in Directory.GetFiles(folder).Order(StringComparer.Ordinal))
            if (Extensions.Contains(Path.GetExtension(file).ToLowerInvariant())) paths.Add(file);
        foreach (var sub in Directory.GetDirectories(folder).Order(StringComparer.Ordinal)) AddImages(sub, paths);
    }
}
