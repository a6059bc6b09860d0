using System.Security.Cryptography;
using Igcv3.Tests.Support;
using Igcv3.Tests.Train.Cli;
using Igcv3.Train.Commands;
using Igcv3.Train.Data;
using Igcv3.Train.Training;
using Xunit;

namespace Igcv3.Tests.Train;

public sealed class SvhnTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>
    /// An SVHN-shaped file of <paramref name="count"/> images: pixel (row r, column c, channel ch) of
    /// image i is (i + 3r + 5c + 70ch) mod 256, written column-major as MATLAB stores X; labels 1..10
    /// cycling (10 = the digit 0), as doubles, or as uint8 bytes in a double array as MATLAB shrinks them.
    /// </summary>
    internal static void WriteSvhn(string path, int count, bool compress, bool labelsAsBytes)
    {
        var x = new byte[32 * 32 * 3 * count];
        for (int i = 0; i < count; i++)
        for (int ch = 0; ch < 3; ch++)
        for (int c = 0; c < 32; c++)
        for (int r = 0; r < 32; r++)
            x[r + 32 * c + 1024 * ch + 3072 * i] = (byte)((i + 3 * r + 5 * c + 70 * ch) % 256);
        var labels = Enumerable.Range(0, count).Select(i => (double)(i % 10 + 1)).ToArray();
        var y = labelsAsBytes
            ? new MatFileWriter.Array("y", MatFileWriter.DoubleClass, [count, 1], MatFileWriter.MiUint8, labels.Select(l => (byte)l).ToArray())
            : new MatFileWriter.Array("y", MatFileWriter.DoubleClass, [count, 1], MatFileWriter.MiDouble, labels.SelectMany(BitConverter.GetBytes).ToArray());
        MatFileWriter.Write(path, compress, new MatFileWriter.Array("X", MatFileWriter.Uint8Class, [32, 32, 3, count], MatFileWriter.MiUint8, x), y);
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void Reader_TransposesColumnMajorPixels_AndMapsLabel10ToDigit0(bool compress, bool labelsAsBytes)
    {
        string path = _temp.File("train_32x32.mat");
        WriteSvhn(path, 13, compress, labelsAsBytes);
        var data = SvhnReader.Load(path, "SVHN");
        Assert.Equal((13, 3, 32, 32), (data.Count, data.Channels, data.Height, data.Width));
        Assert.Equal(Enumerable.Range(0, 13).Select(i => (i % 10 + 1) % 10), data.Labels.ToArray());
        for (int i = 0; i < 13; i++)
        {
            var image = data.Image(i); // [C, H, W]
            foreach (var (ch, r, c) in new[] { (0, 0, 0), (1, 5, 17), (2, 31, 3), (0, 9, 30) })
                Assert.Equal((byte)((i + 3 * r + 5 * c + 70 * ch) % 256), image[ch * 1024 + r * 32 + c]);
        }
        Assert.Equal(4, SvhnReader.Load(path, "SVHN", limit: 4).Count);
    }

    [Fact]
    public void DamagedOrForeignFiles_AreDataErrors()
    {
        string path = _temp.File("test_32x32.mat");
        WriteSvhn(path, 5, compress: true, labelsAsBytes: false);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 200)]);
        Assert.Contains("damaged or truncated", Assert.Throws<DataException>(() => SvhnReader.Load(path, "SVHN test")).Message);
        File.WriteAllText(path, "just some text, no MAT header at all".PadRight(200));
        Assert.Contains("not a level-5 MAT file", Assert.Throws<DataException>(() => SvhnReader.Load(path, "SVHN test")).Message);
        MatFileWriter.Write(path, false, new MatFileWriter.Array("X", MatFileWriter.Uint8Class, [32, 32, 1, 1], MatFileWriter.MiUint8, new byte[1024]));
        Assert.Contains("no X and y", Assert.Throws<DataException>(() => SvhnReader.Load(path, "SVHN test")).Message);
        Assert.Contains("--download", Assert.Throws<DataException>(() => SvhnReader.Load(_temp.File("none.mat"), "SVHN")).Message);
    }

    [Fact]
    public async Task Downloader_ChecksTheMd5_AndKeepsNothingWhenItIsWrong()
    {
        var body = new byte[5000];
        new Random(1).NextBytes(body);
        string md5 = Convert.ToHexStringLower(MD5.HashData(body));
        using var server = new LocalHttpServer("/test_32x32.mat", body);
        using var http = new HttpClient();
        var token = TestContext.Current.CancellationToken;
        string folder = _temp.File("svhn");
        var downloader = new SvhnDownloader(http, server.BaseUrl);
        var e = await Assert.ThrowsAsync<DataException>(() => downloader.EnsureAsync(folder, [("test_32x32.mat", new string('0', 32))], cancellationToken: token));
        Assert.Contains("has MD5", e.Message);
        Assert.Empty(Directory.GetFiles(folder));
        await downloader.EnsureAsync(folder, [("test_32x32.mat", md5)], cancellationToken: token);
        Assert.Equal(body, File.ReadAllBytes(Path.Combine(folder, "test_32x32.mat")));
    }

    [Fact]
    public void Train_OnSvhnFiles_EndToEnd()
    {
        string data = _temp.File("data");
        Directory.CreateDirectory(data);
        WriteSvhn(Path.Combine(data, "train_32x32.mat"), 64, compress: true, labelsAsBytes: true);
        WriteSvhn(Path.Combine(data, "test_32x32.mat"), 20, compress: true, labelsAsBytes: false);
        string run = _temp.File("run");
        var result = CliRunner.Succeeds(["train", .. CliRunner.TinyNetwork, "--dataset", "svhn", "--data-dir", data, "--batch-size", "16",
            "--epochs", "1", "--augment", "none", "--output", run]);
        Assert.Contains("on SVHN (64 train / 20 test images)", result.Out);
        Assert.Equal(4, StepLog.ReadLosses(Path.Combine(run, "steps.csv")).Count);
        CliRunner.FailsWith(ExitCodes.Data, "extra_32x32.mat is missing",
            ["train", .. CliRunner.TinyNetwork, "--dataset", "svhn", "--data-dir", data, "--svhn-extra", "--output", _temp.File("run2")]);
    }
}
