using System.Text.Json;
using System.Text.Json.Nodes;
using Igcv3.Train.Commands;

namespace Igcv3.Train.Settings;

/// <summary>
/// Builds a run's settings from layers, each overriding the one before: the defaults, the settings
/// a checkpoint was trained with (resume, eval), a JSON config file, the command line. Every layer
/// is a JSON object with the same kebab-case keys, so a config file and the options are
/// equivalent by construction.
/// </summary>
public static class SettingsLoader
{
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.KebabCaseLower,
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        WriteIndented = true,
    };

    /// <summary>Merges <paramref name="layers"/> (later wins, key by key) over the defaults.</summary>
    public static RunSettings Merge(params IEnumerable<(string Source, JsonObject? Layer)> layers)
    {
        var merged = ToJson(new RunSettings());
        foreach (var (source, layer) in layers)
        {
            if (layer is null) continue;
            foreach (var (key, value) in layer)
            {
                if (!merged.ContainsKey(key))
                    throw new UsageException($"{source}: unknown setting '{key}'; known: {string.Join(", ", merged.Select(p => p.Key))}");
                merged[key] = value?.DeepClone();
            }
        }
        try
        {
            return merged.Deserialize<RunSettings>(Json) ?? throw new UsageException("settings: empty");
        }
        catch (JsonException e)
        {
            string key = e.Path is { Length: > 2 } path ? path.TrimStart('$', '.').Trim('[', ']', '\'') : "?";
            throw new UsageException($"setting '{key}' has a value of the wrong type ({FirstLine(e.Message)}); check the config file and options", e);
        }
    }

    public static JsonObject ToJson(RunSettings settings) => JsonSerializer.SerializeToNode(settings, Json)!.AsObject();

    public static string ToJsonText(RunSettings settings) => JsonSerializer.Serialize(settings, Json);

    /// <summary>Parses a settings layer saved as text (a checkpoint's metadata, a config file's contents).</summary>
    public static JsonObject ParseLayer(string text, string source)
    {
        try
        {
            var node = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            return node as JsonObject ?? throw new UsageException($"{source}: expected a JSON object of settings, got {node?.GetValueKind().ToString() ?? "null"}");
        }
        catch (JsonException e)
        {
            throw new UsageException($"{source} is not valid JSON: {FirstLine(e.Message)}", e);
        }
    }

    /// <summary>
    /// Reads a config file: <paramref name="path"/> as given, or else the name of a config shipped
    /// in the program's configs folder ("igcv3-d-1.0x-cifar10" or "igcv3-d-1.0x-cifar10.json").
    /// </summary>
    public static JsonObject ReadConfigFile(string path)
    {
        string? found = File.Exists(path) ? path : ShippedConfig(path);
        if (found is null)
        {
            string shipped = string.Join(", ", ShippedConfigNames());
            throw new UsageException($"config file {path} not found; give a path, or one of the shipped configs: {shipped}");
        }
        return ParseLayer(File.ReadAllText(found), $"config {found}");
    }

    public static string ShippedConfigFolder => Path.Combine(AppContext.BaseDirectory, "configs");

    public static IEnumerable<string> ShippedConfigNames() =>
        Directory.Exists(ShippedConfigFolder)
            ? Directory.EnumerateFiles(ShippedConfigFolder, "*.json").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal)!
            : [];

    private static string? ShippedConfig(string name)
    {
        if (name.Contains(Path.DirectorySeparatorChar) || name.Contains('/')) return null;
        foreach (string candidate in new[] { name, name + ".json" })
        {
            string path = Path.Combine(ShippedConfigFolder, candidate);
            if (File.Exists(path)) return path;
        }
        return null;
    }

    private static string FirstLine(string text) => text.Split('\n')[0].Trim();
}
