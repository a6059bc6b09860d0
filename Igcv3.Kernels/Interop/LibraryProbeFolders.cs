namespace Igcv3.Kernels;

/// <summary>
/// The folders searched for CUDA libraries before the default loader path, in order:
/// CUDA_PATH and CUDA_HOME, /usr/local/cuda-X.Y (newest first) and /usr/local/cuda, then the
/// nvidia/*/lib folders of pip wheels (nvidia-cuda-nvrtc-cu12, nvidia-cublas-cu12, CUDA 13's
/// nvidia/cu13/lib, ...) in the usual site-packages locations and in the environment of every
/// python3 on PATH (a venv such as a GPU host's /opt/torch/.venv, which sets no VIRTUAL_ENV for
/// other programs). Python itself is never run: the folders are scanned. Every file-system error
/// is swallowed, because probing must never throw.
/// </summary>
internal static class LibraryProbeFolders
{
    /// <param name="library">An <see cref="Interop.Libraries"/> name.</param>
    /// <param name="environment">Reads an environment variable; the process environment by default (tests pass their own).</param>
    public static IEnumerable<string> For(string library, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var folders = new List<string>();
        foreach (var variable in new[] { "CUDA_PATH", "CUDA_HOME" })
        {
            if (environment(variable) is { Length: > 0 } root)
            {
                folders.Add(Path.Combine(root, OperatingSystem.IsWindows() ? "bin" : "lib64"));
            }
        }
        if (!OperatingSystem.IsWindows())
        {
            folders.AddRange(VersionedToolkits().Select(root => Path.Combine(root, "lib64")));
            folders.Add("/usr/local/cuda/lib64");
            folders.AddRange(PipWheelFolders(environment));
            // WSL exposes the Windows driver's libcuda.so.1 here, outside the loader cache.
            if (library == Interop.Libraries.CudaDriver) folders.Add("/usr/lib/wsl/lib");
        }
        return folders.Distinct().Where(SafeExists);
    }

    /// <summary>/usr/local/cuda-X.Y folders, newest version first.</summary>
    static IEnumerable<string> VersionedToolkits() =>
        SafeDirectories("/usr/local", "cuda-*")
            .Select(path => (path, version: Version.TryParse(Path.GetFileName(path)["cuda-".Length..], out var v) ? v : new Version(0, 0)))
            .OrderByDescending(t => t.version)
            .Select(t => t.path);

    /// <summary>nvidia/*/lib under every site-packages or dist-packages folder we know of.</summary>
    static IEnumerable<string> PipWheelFolders(Func<string, string?> environment)
    {
        var home = environment("HOME") ?? "";
        var libRoots = new List<string> { "/usr/lib", "/usr/local/lib" };
        if (home.Length > 0) libRoots.Add(Path.Combine(home, ".local", "lib"));
        foreach (var variable in new[] { "VIRTUAL_ENV", "CONDA_PREFIX" })
        {
            if (environment(variable) is { Length: > 0 } prefix) libRoots.Add(Path.Combine(prefix, "lib"));
        }
        // PREFIX/bin/python3 → PREFIX/lib: the symlink itself, not its target, names the venv.
        foreach (var bin in (environment("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            if (SafeFileExists(Path.Combine(bin, "python3")) && Path.GetDirectoryName(Path.GetFullPath(bin)) is { } prefix)
                libRoots.Add(Path.Combine(prefix, "lib"));
        }
        foreach (var libRoot in libRoots)
        {
            foreach (var python in SafeDirectories(libRoot, "python3*").OrderDescending(StringComparer.Ordinal))
            {
                foreach (var packages in new[] { "site-packages", "dist-packages" })
                {
                    foreach (var wheel in SafeDirectories(Path.Combine(python, packages, "nvidia"), "*").Order(StringComparer.Ordinal))
                    {
                        yield return Path.Combine(wheel, "lib");
                    }
                }
            }
        }
    }

    static string[] SafeDirectories(string folder, string pattern)
    {
        try
        {
            return Directory.Exists(folder) ? Directory.GetDirectories(folder, pattern) : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    static bool SafeFileExists(string file)
    {
        try
        {
            return File.Exists(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return false;
        }
    }

    static bool SafeExists(string folder)
    {
        try
        {
            return Directory.Exists(folder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
