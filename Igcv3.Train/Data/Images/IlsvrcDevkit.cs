using System.Globalization;
using System.Text.RegularExpressions;

namespace Igcv3.Train.Data.Images;

/// <summary>
/// The ILSVRC2012 development kit (ILSVRC2012_devkit_t12.tar.gz, extracted into --data-dir) as the
/// labels of a flat val/ folder (the 50,000 images as distributed, ILSVRC2012_val_00000001.JPEG ...):
/// data/ILSVRC2012_validation_ground_truth.txt holds one ILSVRC2012_ID per line, line i that of
/// image i; data/meta.mat (a level-5 MAT file) holds the struct array `synsets` whose fields
/// ILSVRC2012_ID and WNID map that ID to the class's WordNet ID, the name of its train/ folder.
/// Labels are then class indices in ImageFolder order of the training folders, so the devkit's
/// numbering (which is not alphabetical) never leaks into the labels.
/// </summary>
public static partial class IlsvrcDevkit
{
    /// <summary>The devkit's folder names, as the archive extracts (the first) or renamed.</summary>
    public static readonly string[] FolderNames = ["ILSVRC2012_devkit_t12", "devkit"];

    public const string GroundTruthFile = "ILSVRC2012_validation_ground_truth.txt";
    public const string MetaFile = "meta.mat";

    /// <summary>The devkit folder in <paramref name="dataDir"/> (one holding data/ILSVRC2012_validation_ground_truth.txt), or null.</summary>
    public static string? Find(string dataDir) =>
        FolderNames.Select(f => Path.Combine(dataDir, f)).FirstOrDefault(d => File.Exists(Path.Combine(d, "data", GroundTruthFile)));

    /// <summary>ILSVRC2012_ID to WNID for every synset of <paramref name="metaMat"/> (IDs 1 to 1000 are the classes).</summary>
    public static Dictionary<int, string> Synsets(string metaMat)
    {
        if (!File.Exists(metaMat)) throw new DataException($"ILSVRC2012 devkit: {Path.GetFullPath(metaMat)} does not exist; it maps the ground truth's ILSVRC2012_IDs to class folders (WNIDs): extract the whole ILSVRC2012_devkit_t12.tar.gz");
        var values = MatFile.ReadAll(metaMat);
        if (!values.TryGetValue("synsets", out var value) || value is not MatStruct synsets)
            throw new DataException($"ILSVRC2012 devkit: {Path.GetFullPath(metaMat)} has no struct array 'synsets' (it holds {string.Join(", ", values.Keys)}); is it the devkit's data/meta.mat?");
        foreach (string field in new[] { "ILSVRC2012_ID", "WNID" })
            if (!synsets.FieldNames.Contains(field))
                throw new DataException($"ILSVRC2012 devkit: {Path.GetFullPath(metaMat)}: 'synsets' has no field {field} (its fields: {string.Join(", ", synsets.FieldNames)})");
        var wnids = new Dictionary<int, string>();
        for (int i = 0; i < synsets.Elements.Length; i++)
        {
            var element = synsets.Elements[i];
            string where = $"ILSVRC2012 devkit: {Path.GetFullPath(metaMat)}: synsets({i + 1})";
            if (element["ILSVRC2012_ID"] is not MatArray { Count: 1 } idArray)
                throw new DataException($"{where}.ILSVRC2012_ID is not one number");
            double id = idArray.ToDoubles()[0];
            if (id != Math.Floor(id) || id < 1 || id > int.MaxValue) throw new DataException($"{where}.ILSVRC2012_ID is {id}, not a positive integer");
            if (element["WNID"] is not MatText { Text.Length: > 0 } wnid) throw new DataException($"{where}.WNID is not a string");
            if (!wnids.TryAdd((int)id, wnid.Text)) throw new DataException($"{where}: ILSVRC2012_ID {id} appears twice");
        }
        return wnids;
    }

    /// <summary>The ILSVRC2012_ID of each validation image, line i (from 1) for image i.</summary>
    public static int[] GroundTruth(string path)
    {
        var ids = new List<int>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            if (!int.TryParse(line.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int id) || id < 1)
                throw new DataException($"ILSVRC2012 devkit: {Path.GetFullPath(path)}, line {lineNumber}: expected an ILSVRC2012_ID (a positive integer), got '{line}'");
            ids.Add(id);
        }
        if (ids.Count == 0) throw new DataException($"ILSVRC2012 devkit: {Path.GetFullPath(path)} is empty");
        return [.. ids];
    }

    /// <summary>
    /// The flat <paramref name="valFolder"/> labelled by the devkit in <paramref name="devkit"/>:
    /// classes in the order of <paramref name="classNames"/> (the training folders), or, without a
    /// training set (eval alone), the WNIDs of IDs 1 to 1000 in ordinal order, which is the order
    /// ImageFolder gives ImageNet's train/ folders.
    /// </summary>
    public static ImageFolderSource OpenVal(string valFolder, string devkit, IReadOnlyList<string>? classNames, string name)
    {
        string data = Path.Combine(devkit, "data");
        var wnids = Synsets(Path.Combine(data, MetaFile));
        string groundTruth = Path.Combine(data, GroundTruthFile);
        var ids = GroundTruth(groundTruth);
        classNames ??= [.. wnids.Where(p => p.Key <= ImageNetLayout.ImageNetClasses).Select(p => p.Value).Order(StringComparer.Ordinal)];
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int k = 0; k < classNames.Count; k++) index[classNames[k]] = k;

        var labelOf = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (string file in Directory.GetFiles(valFolder).Select(Path.GetFileName).OfType<string>())
        {
            if (!ImageFolderSource.Extensions.Contains(Path.GetExtension(file).ToLowerInvariant())) continue;
            var match = ValImageName().Match(file);
            if (!match.Success)
                throw new DataException($"{name}: {file} in {Path.GetFullPath(valFolder)} is not named ILSVRC2012_val_<number>.JPEG, so the devkit's ground truth (line <number>) cannot label it");
            int number = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            if (number < 1 || number > ids.Length)
                throw new DataException($"{name}: {file} is image {number}, but {Path.GetFullPath(groundTruth)} has {ids.Length} lines");
            if (!wnids.TryGetValue(ids[number - 1], out string? wnid))
                throw new DataException($"{name}: {Path.GetFullPath(groundTruth)}, line {number}: ILSVRC2012_ID {ids[number - 1]} is not among the synsets of {Path.Combine(data, MetaFile)}");
            if (!index.TryGetValue(wnid, out int label))
                throw new DataException($"{name}: {file} is class {wnid} (ILSVRC2012_ID {ids[number - 1]}), which is not among the {classNames.Count} training class folders");
            labelOf[file] = label;
        }
        return ImageFolderSource.OpenFlat(valFolder, labelOf, classNames, name, groundTruth);
    }

    [GeneratedRegex(@"^ILSVRC2012_val_(\d+)\.[A-Za-z]+$")]
    private static partial Regex ValImageName();
}
