using System.CommandLine;
using System.ComponentModel;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Igcv3.Train.Settings;

namespace Igcv3.Train.Commands;

/// <summary>
/// One command-line option per <see cref="RunSettings"/> property (--width-multiplier for
/// WidthMultiplier, described by its [Description]), and the reverse: the options the user gave,
/// as a settings layer with the same keys a config file uses. Options that were not given are
/// absent from the layer, so they do not override the config file.
/// </summary>
public sealed class SettingOptions
{
    private readonly List<(Option Option, Func<ParseResult, JsonNode?> Read)> _options = [];

    public SettingOptions()
    {
        foreach (var property in typeof(RunSettings).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (!property.CanWrite) continue;
            string key = JsonNamingPolicy.KebabCaseLower.ConvertName(property.Name);
            string description = property.GetCustomAttribute<DescriptionAttribute>()?.Description ?? key;
            var type = property.PropertyType;
            if (type == typeof(string)) Add<string>(key, description);
            else if (type == typeof(int) || type == typeof(int?)) Add<int?>(key, description);
            else if (type == typeof(double)) Add<double?>(key, description);
            else if (type == typeof(bool)) Add<bool>(key, description);
            else if (type == typeof(double[])) Add<double[]>(key, description, many: true);
            else throw new InvalidOperationException($"settings: no option type for {property.Name} ({type.Name})");
        }
    }

    public IEnumerable<Option> All => _options.Select(o => o.Option);

    public Option Find(string key) => _options.First(o => o.Option.Name == "--" + key).Option;

    /// <summary>The options present on the command line, as a settings layer.</summary>
    public JsonObject Given(ParseResult result)
    {
        var layer = new JsonObject();
        foreach (var (option, read) in _options)
        {
            var given = result.GetResult(option);
            if (given is null || given.Implicit) continue;
            layer[option.Name[2..]] = read(result);
        }
        return layer;
    }

    private void Add<T>(string key, string description, bool many = false)
    {
        var option = new Option<T>("--" + key) { Description = description };
        if (many) option.AllowMultipleArgumentsPerToken = true;
        _options.Add((option, result => JsonSerializer.SerializeToNode(result.GetValue(option))));
    }
}
