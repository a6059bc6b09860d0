using System.Reflection;

namespace Igcv3.Kernels.Compilation;

/// <summary>A CUDA source file: a compilation unit (.cu) or a header (.cuh) that units #include
/// by <see cref="Name"/>, its path relative to kernels-cu with '/' separators.</summary>
public sealed record KernelSource(string Name, string Text)
{
    public bool IsHeader => Name.EndsWith(".cuh", StringComparison.Ordinal);

    public override string ToString() => Name;
}

/// <summary>
/// The kernels-cu sources embedded in this assembly (Igcv3.Kernels.csproj embeds every .cu and
/// .cuh under the logical name "kernels-cu/&lt;relative path&gt;"), so a deployed engine needs no
/// source folder, and a kernel added to kernels-cu is picked up, and tested, without code changes.
/// </summary>
public static class EmbeddedKernelSources
{
    const string Prefix = "kernels-cu/";

    static readonly Lazy<KernelSource[]> All = new(Load);

    /// <summary>Every .cu compilation unit, by name.</summary>
    public static IReadOnlyList<KernelSource> Units => All.Value.Where(s => !s.IsHeader).ToArray();

    /// <summary>Every .cuh header, by name: passed to NVRTC with each unit.</summary>
    public static IReadOnlyList<KernelSource> Headers => All.Value.Where(s => s.IsHeader).ToArray();

    /// <summary>The unit named <paramref name="name"/> ("smoke.cu"), or an exception listing the known ones.</summary>
    public static KernelSource Unit(string name) =>
        Units.FirstOrDefault(s => s.Name == name)
        ?? throw new ArgumentException($"kernel source '{name}' is not embedded; known: {string.Join(", ", Units.Select(u => u.Name))}", nameof(name));

    static KernelSource[] Load()
    {
        var assembly = typeof(EmbeddedKernelSources).Assembly;
        return assembly.GetManifestResourceNames()
            // MSBuild writes RecursiveDir with the build machine's separator; include names use '/'.
            .Select(resource => (resource, name: resource.Replace('\\', '/')))
            .Where(r => r.name.StartsWith(Prefix, StringComparison.Ordinal))
            .Select(r => new KernelSource(r.name[Prefix.Length..], Read(assembly, r.resource)))
            .OrderBy(s => s.Name, StringComparer.Ordinal)
            .ToArray();
    }

    static string Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"embedded resource '{resource}' vanished");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
