using Igcv3.Tests.Support;
namespace Igcv3.Tests.Support;

/// <summary>A fresh folder under the system temp folder, deleted on dispose.</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "igcv3-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Every entry (file or folder) under the folder, relative, sorted.</summary>
    public string[] Entries() => Directory.EnumerateFileSystemEntries(Path, "*", SearchOption.AllDirectories)
        .Select(e => System.IO.Path.GetRelativePath(Path, e)).Order(StringComparer.Ordinal).ToArray();

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}
