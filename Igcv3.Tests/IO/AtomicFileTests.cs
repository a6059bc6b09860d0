using Igcv3.Tests.Support;
using Igcv3.Engine.IO;
using Xunit;

namespace Igcv3.Tests.IO;

public class AtomicFileTests
{
    [Fact]
    public void Write_ReplacesTheFile_AndLeavesNoTemporaryFile()
    {
        using var folder = new TempFolder();
        string path = folder.File("page.html");
        File.WriteAllText(path, "old");

        AtomicFile.WriteAllText(path, "new content");

        Assert.Equal("new content", File.ReadAllText(path));
        Assert.Equal(["page.html"], folder.Entries());
    }

    [Fact]
    public void AFailingWrite_KeepsTheOldFile_AndLeavesNoTemporaryFile()
    {
        using var folder = new TempFolder();
        string path = folder.File("checkpoint.bin");
        File.WriteAllBytes(path, [1, 2, 3]);

        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write([9, 9, 9, 9]);
            throw new InvalidOperationException("serialiser failed halfway");
        }));

        Assert.Equal([1, 2, 3], File.ReadAllBytes(path));
        Assert.Equal(["checkpoint.bin"], folder.Entries());
    }

    [Fact]
    public async Task WriteAsync_AFailingWrite_LeavesNothing()
    {
        using var folder = new TempFolder();
        string path = folder.File("archive.tar.gz");

        await Assert.ThrowsAsync<IOException>(() => AtomicFile.WriteAsync(path, async (stream, token) =>
        {
            await stream.WriteAsync(new byte[100], token);
            throw new IOException("connection reset");
        }, TestContext.Current.CancellationToken));

        Assert.Empty(folder.Entries());
    }

    [Fact]
    public void TempPath_IsInTheSameFolder_AndRecognisable()
    {
        using var folder = new TempFolder();
        string temp = AtomicFile.TempPathFor(folder.File("metrics.csv"));

        Assert.Equal(folder.Path, Path.GetDirectoryName(temp));
        Assert.True(AtomicFile.IsTempName(Path.GetFileName(temp)));
        Assert.False(AtomicFile.IsTempName("metrics.csv"));
        Assert.NotEqual(temp, AtomicFile.TempPathFor(folder.File("metrics.csv")));
    }
}
