using System.Security.Cryptography;
using System.Text;

namespace Igcv3.Kernels.Compilation;

/// <summary>
/// A disk cache of compiled kernels, so a process start costs a hash per source instead of an
/// NVRTC compile. The key is the SHA-256 of everything that determines the output: the unit's
/// name and text, every header, the target, the options and the NVRTC version. Entries are
/// written to a temporary file and renamed into place, so a reader never sees half an entry; an
/// entry whose checksum does not match (truncated, edited, a different format) is ignored,
/// deleted and rebuilt. Cache failures never fail a compile: a read-only folder just means no cache.
/// </summary>
public sealed class KernelCache(string folder)
{
    // Entry layout: magic, kind (int32), image length (int32), image, log length (int32), log
    // (UTF-8), then the SHA-256 of all preceding bytes.
    static readonly byte[] Magic = "IGCV3KC1"u8.ToArray();
    const int ChecksumBytes = 32;

    public string Folder { get; } = folder;

    /// <summary>IGCV3_KERNEL_CACHE if set, else ~/.cache/igcv3/kernels.</summary>
    public static string DefaultFolder() =>
        Environment.GetEnvironmentVariable("IGCV3_KERNEL_CACHE") is { Length: > 0 } folder
            ? folder
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "igcv3", "kernels");

    public static KernelCache Default() => new(DefaultFolder());

    public string PathFor(string key) => Path.Combine(Folder, key + ".kernel");

    /// <summary>Lower-case hex SHA-256 over length-prefixed fields (so no two field lists collide).</summary>
    public static string Key(KernelSource unit, IEnumerable<KernelSource> headers, string target, IReadOnlyList<string> options,
        (int Major, int Minor) nvrtcVersion)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Field(string text)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            hash.AppendData(BitConverter.GetBytes(bytes.Length));
            hash.AppendData(bytes);
        }
        Field("igcv3-kernel-cache-1");
        Field(unit.Name);
        Field(unit.Text);
        foreach (var header in headers.OrderBy(h => h.Name, StringComparer.Ordinal))
        {
            Field(header.Name);
            Field(header.Text);
        }
        Field(target);
        foreach (var option in options) Field(option);
        Field($"nvrtc {nvrtcVersion.Major}.{nvrtcVersion.Minor}");
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Reads the entry for <paramref name="key"/>; false if absent or corrupt (a corrupt one is deleted).</summary>
    public bool TryRead(string key, out ImageKind kind, out byte[] image, out string log)
    {
        kind = default;
        image = [];
        log = "";
        var path = PathFor(key);
        byte[] bytes;
        try
        {
            if (!File.Exists(path)) return false;
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
        if (TryDecode(bytes, out kind, out image, out log)) return true;
        TryDelete(path);
        return false;
    }

    /// <summary>Stores an entry atomically (temporary file, then rename); IO failures are ignored.</summary>
    public void Write(string key, ImageKind kind, byte[] image, string log)
    {
        var path = PathFor(key);
        var temporary = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            Directory.CreateDirectory(Folder);
            File.WriteAllBytes(temporary, Encode(kind, image, log));
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temporary);
        }
    }

    static byte[] Encode(ImageKind kind, byte[] image, string log)
    {
        var logBytes = Encoding.UTF8.GetBytes(log);
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write((int)kind);
            writer.Write(image.Length);
            writer.Write(image);
            writer.Write(logBytes.Length);
            writer.Write(logBytes);
        }
        var body = stream.ToArray();
        return [.. body, .. SHA256.HashData(body)];
    }

    static bool TryDecode(byte[] bytes, out ImageKind kind, out byte[] image, out string log)
    {
        kind = default;
        image = [];
        log = "";
        if (bytes.Length < Magic.Length + 12 + ChecksumBytes) return false;
        var body = bytes.AsSpan(0, bytes.Length - ChecksumBytes);
        if (!SHA256.HashData(body).AsSpan().SequenceEqual(bytes.AsSpan(body.Length))) return false;
        if (!body[..Magic.Length].SequenceEqual(Magic)) return false;
        try
        {
            using var reader = new BinaryReader(new MemoryStream(bytes, Magic.Length, body.Length - Magic.Length));
            kind = (ImageKind)reader.ReadInt32();
            image = reader.ReadBytes(reader.ReadInt32());
            log = Encoding.UTF8.GetString(reader.ReadBytes(reader.ReadInt32()));
            return Enum.IsDefined(kind) && image.Length > 0 && reader.BaseStream.Position == reader.BaseStream.Length;
        }
        catch (Exception e) when (e is EndOfStreamException or ArgumentOutOfRangeException or IOException)
        {
            return false;
        }
    }

    static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Another process may hold it; the next successful write replaces it anyway.
        }
    }
}
