using Parley.Inference.Tensors;

namespace Parley.Inference.Models;

/// <summary>
/// How the cache stores keys and values, as llama.cpp's --cache-type-k/--cache-type-v: F16 (the
/// default, half the memory of F32 and the numbers llama.cpp's default cache holds) or Q8_0 (32
/// values share one scale: about half again). Q8_0 needs heads whose size is a multiple of 32.
/// </summary>
public readonly record struct KvCacheTypes(GgmlType Keys, GgmlType Values)
{
    public static KvCacheTypes Default => new(GgmlType.F16, GgmlType.F16);

    /// <summary>The names the command line takes.</summary>
    public const string Names = "f16, q8_0";

    /// <summary>A cache type by its llama.cpp name; null for anything else.</summary>
    public static GgmlType? Parse(string name) => name.ToLowerInvariant() switch
    {
        "f16" => GgmlType.F16,
        "q8_0" => GgmlType.Q8_0,
        _ => null,
    };

    public static string Name(GgmlType type) => type.ToString().ToLowerInvariant();

    /// <summary>Throws <see cref="NotSupportedException"/> (one line for the user) when <paramref name="c"/> cannot be cached in these types.</summary>
    public void Check(ModelConfig c)
    {
        foreach (var (type, what) in new[] { (Keys, "keys"), (Values, "values") })
        {
            if (type is not (GgmlType.F16 or GgmlType.Q8_0)) throw new NotSupportedException($"the KV cache stores {what} as {Names}, not {Name(type)}");
            if (type == GgmlType.Q8_0 && c.HeadDim % QK8 != 0)
            {
                throw new NotSupportedException($"a q8_0 cache of {what} needs a head size that is a multiple of {QK8}; this model's heads have {c.HeadDim}: use f16");
            }
        }
    }

    /// <summary>Bytes of <paramref name="elements"/> values stored as <paramref name="type"/>: Q8_0 keeps each scale as an F32 (holding an F16), so attention loads it without conversion.</summary>
    public static long Bytes(GgmlType type, long elements) => type == GgmlType.Q8_0 ? elements + elements / QK8 * sizeof(float) : elements * sizeof(ushort);

    public override string ToString() => $"K {Name(Keys)}, V {Name(Values)}";

    internal const int QK8 = 32;
}
