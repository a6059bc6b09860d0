namespace Igcv3.Tests.Support;

/// <summary>The checkout the tests were built from: the first folder above the test binary that
/// holds Igcv3.sln, or null where the binary was copied elsewhere (a GPU host's published app).</summary>
internal static class RepositoryRoot
{
    public static DirectoryInfo? Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Igcv3.sln"))) return dir;
        }
        return null;
    }
}
