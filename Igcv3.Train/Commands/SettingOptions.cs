using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
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
            else if (type == typeof(int) || type == typeof(int?)) Add(key, description, Parser<int?>(key, "an integer", t => int.TryParse(t, CultureInfo.InvariantCulture, out int v) ? v : null));
            else if (type == typeof(double) || type == typeof(double?)) Add(key, description, Parser<double?>(key, "a number", Number));
            else if (type == typeof(bool)) Add<bool>(key, description);
            else if (type == typeof(double[])) Add(key, description, ListParser(key), many: true);
            else throw new InvalidOperationException($"settings: no option type for {property.Name} ({type.Name})");
        }
    }

    private static double? Number(string text) => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : null;

    /// <summary>A parser whose failure says "--lr: 'abc' is not a number" rather than naming a .NET type.</summary>
    private static Func<ArgumentResult, T?> Parser<T>(string key, string what, Func<string, T?> parse) => result =>
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
        var value = parse(text);
        if (value is null) result.AddError($"--{key}: '{text}' is not {what}");
        return value;
    };

    /// <summary>Numbers given as separate tokens or comma-separated: --milestones 0.5 0.75 or --milestones 0.5,0.75.</summary>
    private static Func<ArgumentResult, double[]?> ListParser(string key) => result =>
    {
        var values = new List<double>();
        foreach (string text in result.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries)))
        {
            if (Number(text) is not { } v)
            {
                result.AddError($"--{key}: '{text}' is not a number");
                return null;
            }
            values.Add(v);
        }
        return values.ToArray();
    };

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

    private void Add<T>(string key, string description, Func<ArgumentResult, T?>? parser = null, bool many = false)
    {
        var option = new Option<T>("--" + key) { Description = description, CustomParser = parser };
        if (many) option.AllowMultipleArgumentsPerToken = true;
        _options.Add((option, result => JsonSerializer.SerializeToNode(result.GetValue(option))));
    }
}
