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
/// WidthMultiplier, described by its [Description] and its default), and the reverse: the options
/// the user gave, as a settings layer with the same keys a config file uses. Options that were not
/// given are absent from the layer, so they do not override the config file. As with argparse, the
/// last of a repeated option wins (a list option takes the values of all).
/// </summary>
public sealed class SettingOptions
{
    private readonly List<(Option Option, Func<ParseResult, JsonNode?> Read)> _options = [];

    /// <summary>The settings that define the network: all that <c>summary</c> takes (with --dataset).</summary>
    public static readonly string[] NetworkKeys =
        ["network", "width-multiplier", "arithmetic", "g1", "g2", "output-permutation", "relu", "expand-when-t1", "igcv2-depth", "depth", "l", "m", "width", "init"];

    /// <summary>Options for the settings of <paramref name="only"/> (every setting where null).</summary>
    public SettingOptions(IReadOnlyCollection<string>? only = null)
    {
        var defaults = SettingsLoader.ToJson(new RunSettings());
        foreach (string key in only ?? [])
            if (!defaults.ContainsKey(key)) throw new InvalidOperationException($"settings: no setting '{key}'");
        foreach (var property in typeof(RunSettings).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (!property.CanWrite) continue;
            string key = JsonNamingPolicy.KebabCaseLower.ConvertName(property.Name);
            if (only is not null && !only.Contains(key)) continue;
            string description = (property.GetCustomAttribute<DescriptionAttribute>()?.Description ?? key) + DefaultText(defaults[key]);
            var type = property.PropertyType;
            if (type == typeof(string)) Add(key, description, Parser<string>(key, "text", t => t));
            else if (key.StartsWith("limit-", StringComparison.Ordinal)) AddLimit(key, description + " 'all' for every image.");
            else if (type == typeof(int) || type == typeof(int?)) Add(key, description, Parser<int?>(key, "an integer", t => int.TryParse(t, CultureInfo.InvariantCulture, out int v) ? v : null));
            else if (type == typeof(double) || type == typeof(double?)) Add(key, description, Parser<double?>(key, "a number", Number));
            else if (type == typeof(bool)) Add<bool>(key, description);
            else if (type == typeof(double[])) Add(key, description, ListParser(key), many: true);
            else throw new InvalidOperationException($"settings: no option type for {property.Name} ({type.Name})");
        }
    }

    /// <summary>" [default: 0.1]" for a setting with a default to show (not null, not a false flag).</summary>
    private static string DefaultText(JsonNode? value) => value switch
    {
        null => "",
        JsonArray list => $" [default: {string.Join(',', list.Select(v => v!.ToJsonString()))}]",
        JsonValue v when v.GetValueKind() == JsonValueKind.False => "",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => $" [default: {v.GetValue<string>()}]",
        _ => $" [default: {value.ToJsonString()}]",
    };

    /// <summary>--limit-train / --limit-test: a count, or 'all', given to the settings as null (no
    /// limit, overriding a config file's). The option's own value is text: System.CommandLine takes
    /// a null from a parser for a failure.</summary>
    private void AddLimit(string key, string description)
    {
        static bool IsAll(string text) => text.Equals("all", StringComparison.OrdinalIgnoreCase);
        var option = new Option<string>("--" + key)
        {
            Description = description,
            Arity = ArgumentArity.OneOrMore,
            CustomParser = result =>
            {
                string text = result.Tokens[^1].Value;
                if (!IsAll(text) && !int.TryParse(text, CultureInfo.InvariantCulture, out _)) result.AddError($"--{key}: '{text}' is neither an integer nor 'all'");
                return text;
            },
        };
        _options.Add((option, result => result.GetValue(option) is { } text && !IsAll(text) ? JsonValue.Create(int.Parse(text, CultureInfo.InvariantCulture)) : null));
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
        // Repeatable, one value per occurrence; the parsers read the last.
        else if (typeof(T) != typeof(bool)) option.Arity = ArgumentArity.OneOrMore;
        _options.Add((option, result => JsonSerializer.SerializeToNode(result.GetValue(option))));
    }
}
