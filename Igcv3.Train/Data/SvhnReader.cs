namespace Igcv3.Train.Data;

/// <summary>
/// The SVHN cropped-digits release (train_32x32.mat, test_32x32.mat, extra_32x32.mat from
/// http://ufldl.stanford.edu/housenumbers/): level-5 MAT files holding X, uint8 [32, 32, 3, N] in
/// MATLAB's column-major order (X(row, column, channel, image)), and y, [N, 1] labels 1 to 10,
/// where 10 is the digit 0. Read into [N, C, H, W] bytes with label = digit (10 becomes 0), as
/// torchvision's SVHN does. MD5s of the files are torchvision's.
/// </summary>
public static class SvhnReader
{
    public const string FolderName = "svhn";
    public static readonly Uri BaseUrl = new("http://ufldl.stanford.edu/housenumbers/");

    /// <summary>(file, MD5) of each part: train, test, extra.</summary>
    public static readonly (string File, string Md5) Train = ("train_32x32.mat", "e26dedcc434d2e4c54c9b2d4a06d8373");
    public static readonly (string File, string Md5) Test = ("test_32x32.mat", "eb5a983be6a315427106f1b164d9cef3");
    public static readonly (string File, string Md5) Extra = ("extra_32x32.mat", "a93ce644f1a588dc4d68dda5feec44a7");

    public static readonly string[] ClassNames = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    /// <summary>The images of <paramref name="path"/>, the first <paramref name="limit"/> of them when given.</summary>
    public static ImageDataset Load(string path, string name, int? limit = null)
    {
        if (!File.Exists(path))
            throw new DataException($"{Path.GetFullPath(path)} is missing; add --download to fetch SVHN ({BaseUrl}), or point --data-dir at the folder holding {Train.File} and {Test.File}");
        var arrays = MatFile.Read(path);
        if (!arrays.TryGetValue("X", out var x) || !arrays.TryGetValue("y", out var y))
            throw new DataException($"{path} holds no X and y arrays ({string.Join(", ", arrays.Keys)}): not an SVHN cropped-digits file");
        if (x.Dimensions is not [32, 32, 3, var n] || x.DataType != MatFile.MiUint8)
            throw new DataException($"{path}: X is [{string.Join(", ", x.Dimensions)}] of data type {x.DataType}, expected uint8 [32, 32, 3, N]");
        var labels = y.ToDoubles();
        if (labels.Length != n) throw new DataException($"{path}: {labels.Length} labels for {n} images");

        int count = Math.Min(n, limit ?? int.MaxValue);
        var pixels = new byte[count * 3072];
        var source = x.Data;
        // X(row, col, c, i) is at row + 32 col + 1024 c + 3072 i; ours [i, c, row, col] at 3072 i + 1024 c + 32 row + col.
        Parallel.For(0, count, i =>
        {
            for (int c = 0; c < 3; c++)
                for (int col = 0; col < 32; col++)
                    for (int row = 0; row < 32; row++)
                        pixels[i * 3072 + c * 1024 + row * 32 + col] = source[i * 3072 + c * 1024 + col * 32 + row];
        });
        var digits = new int[count];
        for (int i = 0; i < count; i++)
        {
            double label = labels[i];
            if (label is < 1 or > 10 || label != Math.Floor(label))
                throw new DataException($"{path}: label {label} of image {i} is not 1 to 10");
            digits[i] = (int)label % 10;
        }
        return new ImageDataset(name, pixels, digits, 3, 32, 32, ClassNames);
    }
}
