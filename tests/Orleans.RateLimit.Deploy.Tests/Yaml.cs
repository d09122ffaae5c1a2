using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace Orleans.RateLimit.Deploy.Tests;

/// <summary>
/// YAML documents as plain trees: mappings are <see cref="Dictionary{TKey,TValue}"/> of string keys, sequences are
/// <see cref="List{T}"/>, scalars are strings (null for an empty value). Enough to check deploy files by their keys.
/// </summary>
internal static class Yaml
{
    private static readonly IDeserializer Deserializer = new DeserializerBuilder().WithDuplicateKeyChecking().Build();

    /// <summary>Every document of <paramref name="text"/>; a syntax error or a duplicate key throws, naming the line.</summary>
    public static List<object?> Documents(string text)
    {
        var parser = new Parser(new StringReader(text));
        parser.Consume<StreamStart>();
        var documents = new List<object?>();
        while (parser.Accept<DocumentStart>(out _))
        {
            documents.Add(Normalize(Deserializer.Deserialize<object?>(parser)));
        }

        return documents;
    }

    /// <summary>The node at <paramref name="path"/> (keys, and indexes into sequences), or null when any step is missing.</summary>
    public static object? At(object? node, params string[] path)
    {
        foreach (var step in path)
        {
            node = node switch
            {
                Dictionary<string, object?> map => map.GetValueOrDefault(step),
                List<object?> list when int.TryParse(step, CultureInfo.InvariantCulture, out var i) && i >= 0 && i < list.Count => list[i],
                _ => null,
            };
        }

        return node;
    }

    public static Dictionary<string, object?>? Map(object? node) => node as Dictionary<string, object?>;

    public static List<object?> Seq(object? node) => node as List<object?> ?? [];

    public static string? Str(object? node) => node as string;

    /// <summary>Replaces or adds the value at <paramref name="path"/>; the parent must exist.</summary>
    public static void Set(object? root, string path, object? value)
    {
        var (parent, last) = Parent(root, path);
        switch (parent)
        {
            case Dictionary<string, object?> map:
                map[last] = value;
                break;
            case List<object?> list:
                list[int.Parse(last, CultureInfo.InvariantCulture)] = value;
                break;
            default:
                throw new ArgumentException($"No mapping or sequence at the parent of '{path}'.", nameof(path));
        }
    }

    /// <summary>Removes the entry at <paramref name="path"/>, which must exist.</summary>
    public static void Remove(object? root, string path)
    {
        var (parent, last) = Parent(root, path);
        var removed = parent switch
        {
            Dictionary<string, object?> map => map.Remove(last),
            List<object?> list when int.TryParse(last, CultureInfo.InvariantCulture, out var i) && i < list.Count => Remove(list, i),
            _ => false,
        };
        if (!removed)
        {
            throw new ArgumentException($"Nothing at '{path}' to remove.", nameof(path));
        }
    }

    private static bool Remove(List<object?> list, int index)
    {
        list.RemoveAt(index);
        return true;
    }

    private static (object? Parent, string Last) Parent(object? root, string path)
    {
        var steps = path.Split('.');
        return (At(root, steps[..^1]), steps[^1]);
    }

    private static object? Normalize(object? node) => node switch
    {
        IDictionary<object, object?> map => map.ToDictionary(
            entry => Convert.ToString(entry.Key, CultureInfo.InvariantCulture) ?? string.Empty,
            entry => Normalize(entry.Value)),
        IList<object?> list => list.Select(Normalize).ToList(),
        string text => text,
        null => null,
        _ => Convert.ToString(node, CultureInfo.InvariantCulture),
    };
}
