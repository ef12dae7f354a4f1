using Parley.Cli;
using Parley.Inference.Models;
using Parley.Inference.Tensors;

namespace Parley.Commands;

/// <summary>--cache-type-k/-ctk and --cache-type-v/-ctv, as llama.cpp's tools take them.</summary>
internal static class CacheTypeArguments
{
    public static KvCacheTypes Read(Arguments a)
    {
        var d = KvCacheTypes.Default;
        return new KvCacheTypes(Type(a, d.Keys, "--cache-type-k", "-ctk"), Type(a, d.Values, "--cache-type-v", "-ctv"));
    }

    private static GgmlType Type(Arguments a, GgmlType fallback, params string[] names)
    {
        string? name = a.String(names);
        if (name is null) return fallback;
        return KvCacheTypes.Parse(name) ?? throw new CliException($"option {names[0]} expects one of {KvCacheTypes.Names}, got '{name}'");
    }
}
