using Igcv3.Tests.Support;
using Igcv3.Train.Data;
using Igcv3.Train.Data.Images;
using Xunit;

namespace Igcv3.Tests.Train.Images;

/// <summary>
/// A flat val/ labelled by the ILSVRC2012 devkit, with a meta.mat written by an independent writer
/// (scipy.io.savemat, Debian's python3-scipy: .ci/install-scipy.sh), so that our MAT reader's
/// structs, char arrays, cells and empty values are read as another implementation writes them.
/// Skipped where no python3 imports scipy.
/// </summary>
public sealed class IlsvrcDevkitTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>
    /// The devkit's shape: synsets as an N x 1 struct array whose IDs are not in WNID order (as in
    /// the real devkit), a non-leaf synset above ID 1000, an empty 'children' for the leaves; and a
    /// cell array beside it. <paramref name="compress"/> writes every variable as a miCOMPRESSED element.
    /// </summary>
    private const string WriterScript = """
        import sys
        import numpy as np
        import scipy.io
        path, compress = sys.argv[1], sys.argv[2] == "1"
        rows = [(1, "n03", "three", 0), (2, "n01", "one", 0), (3, "n02", "two", 0), (1001, "n00001740", "entity", 3)]
        dt = [("ILSVRC2012_ID", "O"), ("WNID", "O"), ("words", "O"), ("num_children", "O"), ("children", "O")]
        synsets = np.zeros((len(rows), 1), dtype=dt)
        for i, (ident, wnid, words, children) in enumerate(rows):
            kids = np.array([[1.0, 2.0, 3.0]]) if children else np.zeros((1, 0))
            synsets[i, 0] = (np.array([[float(ident)]]), np.array([wnid]), np.array([words]), np.array([[float(children)]]), kids)
        cells = np.empty((1, 2), dtype=object)
        cells[0, 0] = np.array(["caf\u00e9"])
        cells[0, 1] = np.array([[1, 2], [3, 4]], dtype=np.uint8)
        scipy.io.savemat(path, {"synsets": synsets, "cells": cells}, do_compression=compress)
        """;

    private string WriteMeta(string path, bool compress)
    {
        string python = BenchPython.InterpreterWith("scipy", "numpy");
        string script = _temp.File("write_meta.py");
        File.WriteAllText(script, WriterScript);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var (code, output) = BenchPython.Run(python, ".", script, path, compress ? "1" : "0");
        Assert.True(code == 0, output);
        return path;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MatFile_ReadsScipysStructsCharsCellsAndEmpties(bool compress)
    {
        var values = MatFile.ReadAll(WriteMeta(_temp.File("meta.mat"), compress));
        var synsets = Assert.IsType<MatStruct>(values["synsets"]);
        Assert.Equal([4, 1], synsets.Dimensions);
        Assert.Equal(["ILSVRC2012_ID", "WNID", "words", "num_children", "children"], synsets.FieldNames);
        Assert.Equal([1.0, 2, 3, 1001], synsets.Elements.Select(e => ((MatArray)e["ILSVRC2012_ID"]).ToDoubles()[0]));
        Assert.Equal(["n03", "n01", "n02", "n00001740"], synsets.Elements.Select(e => ((MatText)e["WNID"]).Text));
        Assert.Equal("entity", ((MatText)synsets.Elements[3]["words"]).Text);
        Assert.Equal(0, synsets.Elements[0]["children"].Count);
        Assert.Equal([1.0, 2, 3], ((MatArray)synsets.Elements[3]["children"]).ToDoubles());

        var cells = Assert.IsType<MatCell>(values["cells"]);
        Assert.Equal([1, 2], cells.Dimensions);
        Assert.Equal("café", ((MatText)cells.Elements[0]).Text);
        var matrix = (MatArray)cells.Elements[1];
        Assert.Equal([2, 2], matrix.Dimensions);
        Assert.Equal([1.0, 3, 2, 4], matrix.ToDoubles()); // column-major
        // The numeric-only view that SVHN reads skips the rest.
        Assert.Empty(MatFile.Read(_temp.File("meta.mat")));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void FlatVal_WithTheDevkit_IsLabelledInTrainingFolderOrder(bool withTrain)
    {
        string data = _temp.File("imagenet");
        WriteMeta(Path.Combine(data, "ILSVRC2012_devkit_t12", "data", "meta.mat"), compress: true);
        // Image i is ILSVRC2012_ID ids[i - 1]: 1 -> n03, 2 -> n01, 3 -> n02.
        int[] ids = [2, 1, 3, 1];
        File.WriteAllLines(Path.Combine(data, "ILSVRC2012_devkit_t12", "data", "ILSVRC2012_validation_ground_truth.txt"), ids.Select(i => i.ToString()));
        if (withTrain)
            foreach (var cls in new[] { "n02", "n01", "n03" })
            {
                Directory.CreateDirectory(Path.Combine(data, "train", cls));
                File.WriteAllBytes(Path.Combine(data, "train", cls, "t.png"), EncodedImages.Png(EncodedImages.Random(4, 4, 1)));
            }
        Directory.CreateDirectory(Path.Combine(data, "val"));
        for (int i = 1; i <= 4; i++)
            File.WriteAllBytes(Path.Combine(data, "val", $"ILSVRC2012_val_{i:D8}.JPEG"), EncodedImages.Png(EncodedImages.Random(4, 4, i)));

        var (_, val) = ImageNetLayout.Open(data, testOnly: !withTrain);
        // ImageFolder order of the WNIDs (n01, n02, n03), whatever the devkit's IDs; without train/ the
        // classes are the WNIDs of IDs 1 to 1000 (not the non-leaf 1001) in that order too.
        Assert.Equal(["n01", "n02", "n03"], val.ClassNames);
        // Images 1..4 are IDs 2, 1, 3, 1: n01, n03, n02, n03.
        Assert.Equal([0, 2, 1, 2], Enumerable.Range(0, 4).Select(val.Label));
    }

    [Fact]
    public void MalformedDevkit_GivesMessagesThatSayWhatIsWrong()
    {
        string data = _temp.File("imagenet");
        string devkitData = Path.Combine(data, "ILSVRC2012_devkit_t12", "data");
        Directory.CreateDirectory(devkitData);
        Directory.CreateDirectory(Path.Combine(data, "val"));
        File.WriteAllBytes(Path.Combine(data, "val", "ILSVRC2012_val_00000001.JPEG"), EncodedImages.Png(EncodedImages.Random(4, 4, 1)));
        string truth = Path.Combine(devkitData, "ILSVRC2012_validation_ground_truth.txt");
        File.WriteAllLines(truth, ["1"]);
        string Error() => Assert.Throws<DataException>(() => ImageNetLayout.Open(data, testOnly: true)).Message;

        Assert.Contains("meta.mat does not exist", Error());

        File.WriteAllText(Path.Combine(devkitData, "meta.mat"), string.Concat(Enumerable.Repeat("not a MAT file. ", 20)));
        Assert.Contains("not a level-5 MAT file", Error());

        WriteMeta(Path.Combine(devkitData, "meta.mat"), compress: false);
        File.WriteAllLines(truth, ["one"]);
        Assert.Contains("line 1: expected an ILSVRC2012_ID", Error());
        File.WriteAllLines(truth, ["7"]);
        Assert.Contains("ILSVRC2012_ID 7 is not among the synsets", Error());
        File.WriteAllLines(truth, ["1"]);
        File.WriteAllBytes(Path.Combine(data, "val", "ILSVRC2012_val_00000002.JPEG"), EncodedImages.Png(EncodedImages.Random(4, 4, 2)));
        Assert.Contains("is image 2, but", Error());
        File.Delete(Path.Combine(data, "val", "ILSVRC2012_val_00000002.JPEG"));
        File.WriteAllBytes(Path.Combine(data, "val", "holiday.jpg"), EncodedImages.Png(EncodedImages.Random(4, 4, 2)));
        Assert.Contains("is not named ILSVRC2012_val_<number>.JPEG", Error());
        File.Delete(Path.Combine(data, "val", "holiday.jpg"));
        Assert.Equal(1, ImageNetLayout.Open(data, testOnly: true).Val.Count);
    }
}
