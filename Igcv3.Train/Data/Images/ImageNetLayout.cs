namespace Igcv3.Train.Data.Images;

/// <summary>
/// Finds ImageNet in --data-dir, in either of the layouts users hold it in:
/// folders, train/&lt;wnid&gt;/*.JPEG and val/&lt;wnid&gt;/*.JPEG (torchvision's ImageFolder; the
/// validation images sorted into class folders), or MXNet RecordIO, train.rec and val.rec with
/// their .idx (im2rec's output, as the official IGCV3 repository trains from). Folders win when both are there.
/// </summary>
public static class ImageNetLayout
{
    /// <summary>ImageNet's classes, and the class count assumed for RecordIO (whose labels are bare numbers).</summary>
    public const int ImageNetClasses = 1000;

    public static bool IsFolderLayout(string dataDir) => Directory.Exists(Path.Combine(dataDir, "train")) || Directory.Exists(Path.Combine(dataDir, "val"));

    /// <summary>The class count, known without reading any image: the class folders of train/ (or val/), else 1000 for RecordIO.</summary>
    public static int ClassCount(string dataDir) => ClassNames(dataDir).Count;

    /// <summary>The class names without reading any image: the class folders of train/ (or val/) in ordinal order, else "0" to "999" (RecordIO).</summary>
    public static IReadOnlyList<string> ClassNames(string dataDir)
    {
        foreach (string split in new[] { "train", "val" })
        {
            string folder = Path.Combine(dataDir, split);
            if (Directory.Exists(folder) && Directory.GetDirectories(folder).Length > 0)
                return [.. Directory.GetDirectories(folder).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)];
        }
        return [.. Enumerable.Range(0, ImageNetClasses).Select(k => k.ToString(System.Globalization.CultureInfo.InvariantCulture))];
    }

    /// <summary>Label files for a flat val/ (the images as distributed, not sorted into class folders), looked for in --data-dir.</summary>
    public static readonly string[] ValLabelFiles = ["LOC_val_solution.csv", "val_labels.txt"];

    private static ImageFolderSource FlatVal(string dataDir, string val, ImageFolderSource? train)
    {
        // The ILSVRC2012 devkit first: it is what the official val archive comes with.
        if (IlsvrcDevkit.Find(dataDir) is { } devkit) return IlsvrcDevkit.OpenVal(val, devkit, train?.ClassNames, "ImageNet val");
        string? labels = ValLabelFiles.Select(f => Path.Combine(dataDir, f)).FirstOrDefault(File.Exists);
        if (labels is null || train is null)
            throw new DataException($"{Path.GetFullPath(val)} holds images but no class folders; sort them into val/<class>/, or extract the ILSVRC2012 devkit ({IlsvrcDevkit.FolderNames[0]}/data/{IlsvrcDevkit.GroundTruthFile} and meta.mat) into {Path.GetFullPath(dataDir)}, or put {string.Join(" or ", ValLabelFiles)} (lines '<image> <class folder>') there, beside train/ whose folders name the classes");
        return ImageFolderSource.OpenFlat(val, labels, train.ClassNames, "ImageNet val");
    }

    /// <summary>Opens the training split (null when <paramref name="testOnly"/>) and the validation split.</summary>
    public static (IImageSource? Train, IImageSource Val) Open(string dataDir, bool testOnly)
    {
        string full = Path.GetFullPath(dataDir);
        if (!Directory.Exists(dataDir))
            throw new DataException($"data folder {full} does not exist; point --data-dir at the ImageNet folder holding train/ and val/ (class folders) or train.rec and val.rec (MXNet RecordIO)");
        if (IsFolderLayout(dataDir))
        {
            string train = Path.Combine(dataDir, "train"), val = Path.Combine(dataDir, "val");
            foreach (var (folder, role) in new[] { (train, "training"), (val, "validation") })
                if (!Directory.Exists(folder) && !(testOnly && role == "training"))
                    throw new DataException($"{full} has no {Path.GetFileName(folder)}/ folder for the {role} images; ImageNet's folder layout is train/<class>/*.JPEG and val/<class>/*.JPEG");
            // The validation classes must be the training ones, in the same order; eval alone reads val/ by itself.
            var trainSource = Directory.Exists(train) ? ImageFolderSource.Open(train, "ImageNet train") : null;
            var valSource = Directory.GetDirectories(val).Length == 0 ? FlatVal(dataDir, val, trainSource) : ImageFolderSource.Open(val, "ImageNet val", trainSource?.ClassNames);
            return (testOnly ? null : trainSource, valSource);
        }
        string trainRec = Path.Combine(dataDir, "train.rec"), valRec = Path.Combine(dataDir, "val.rec");
        if (!File.Exists(valRec) || (!testOnly && !File.Exists(trainRec)))
            throw new DataException($"{full} holds neither train/ and val/ (class folders of JPEGs) nor train.rec and val.rec (MXNet RecordIO, as im2rec writes them); see the README's ImageNet section");
        var valRecords = RecordIOImageSource.Open(valRec, "ImageNet val", ImageNetClasses);
        var trainRecords = testOnly ? null : RecordIOImageSource.Open(trainRec, "ImageNet train", ImageNetClasses);
        foreach (var source in new IImageSource?[] { trainRecords, valRecords })
            if (source is not null && source.ClassNames.Count > ImageNetClasses)
                throw new DataException($"{source.Name}: labels reach {source.ClassNames.Count - 1}, but ImageNet RecordIO is read with {ImageNetClasses} classes (0 to {ImageNetClasses - 1})");
        return (trainRecords, valRecords);
    }
}
