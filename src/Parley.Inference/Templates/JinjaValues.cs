using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Parley.Inference.Templates;

/// <summary>A missing variable, attribute or key: empty when printed, false when tested, an error when used further.</summary>
internal sealed class Undefined(string description)
{
    public string Description { get; } = description;

    public TemplateException Error() => new($"UndefinedError: {Description} is undefined");
}

/// <summary>namespace(): the one mutable object templates may assign attributes to across loop scopes.</summary>
internal sealed class Namespace
{
    public OrderedDictionary<string, object?> Values { get; } = new(StringComparer.Ordinal);
}

/// <summary>
/// A dict as templates see it: insertion-ordered, keyed by any hashable value with Python's equality
/// (1, 1.0 and True are one key; strings compare by ordinal). JSON objects and CLR dictionaries
/// arrive with string keys; dict literals may use numbers too.
/// </summary>
internal sealed class JinjaDict() : OrderedDictionary<object, object?>(Key.Instance)
{
    /// <summary>Checks that <paramref name="key"/> can key a dict, as Python's hash() does.</summary>
    public static object Hashable(object? key) => key switch
    {
        string or long or double or bool => key,
        null => throw new TemplateException("TypeError: None as a dict key is not supported"),
        _ => throw new TemplateException($"TypeError: unhashable type: '{Py.TypeName(key)}'"),
    };

    /// <summary>Whether <paramref name="key"/> could be a key at all (a lookup with anything else finds nothing).</summary>
    public static bool IsHashable(object? key) => key is string or long or double or bool;

    private sealed class Key : IEqualityComparer<object>
    {
        public static readonly Key Instance = new();

        public new bool Equals(object? a, object? b) => Py.Equals(a, b);

        public int GetHashCode(object o) => o switch
        {
            string s => StringComparer.Ordinal.GetHashCode(s),
            double d when d == Math.Floor(d) && Math.Abs(d) < 9.2e18 => ((long)d).GetHashCode(),
            double d => d.GetHashCode(),
            _ when Py.IsNumber(o) => ((long)Py.ToDouble(o)).GetHashCode(),
            _ => o.GetHashCode(),
        };
    }
}

/// <summary>A function a template can call: a global, a macro, or a bound method of a value.</summary>
internal sealed class JinjaFunction(string name, Func<List<object?>, Dictionary<string, object?>, object?> invoke)
{
    public string Name { get; } = name;

    public object? Invoke(List<object?> args, Dictionary<string, object?> kwargs) => invoke(args, kwargs);
}

/// <summary>The 'loop' variable of a for block.</summary>
internal sealed class LoopInfo(List<object?> items, int depth, Func<object?, object?>? recurse)
{
    public int Index0 { get; set; }

    public object? Get(string name) => name switch
    {
        "index" => (long)Index0 + 1,
        "index0" => (long)Index0,
        "revindex" => (long)(items.Count - Index0),
        "revindex0" => (long)(items.Count - Index0 - 1),
        "first" => Index0 == 0,
        "last" => Index0 == items.Count - 1,
        "length" => (long)items.Count,
        "depth" => (long)depth,
        "depth0" => (long)depth - 1,
        "previtem" => Index0 > 0 ? items[Index0 - 1] : new Undefined("'loop.previtem'"),
        "nextitem" => Index0 + 1 < items.Count ? items[Index0 + 1] : new Undefined("'loop.nextitem'"),
        "cycle" => new JinjaFunction("cycle", (a, _) => a.Count == 0 ? throw new TemplateException("TypeError: no items for cycling given") : a[Index0 % a.Count]),
        _ => new Undefined($"'loop' has no attribute '{name}' and it"),
    };

    public object? Recurse(object? iterable) => recurse is null ? throw new TemplateException("TypeError: the loop is not recursive") : recurse(iterable);
}

/// <summary>Python semantics of the values templates see: truth, equality, ordering, str(), repr() and JSON.</summary>
internal static class Py
{
    public static object? FromJson(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => ToDict(e),
        JsonValueKind.Array => e.EnumerateArray().Select(FromJson).ToList(),
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.TryGetInt64(out long l) ? l : e.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    private static JinjaDict ToDict(JsonElement e)
    {
        var d = new JinjaDict();
        foreach (var p in e.EnumerateObject()) d[p.Name] = FromJson(p.Value);
        return d;
    }

    public static bool Truthy(object? v) => v switch
    {
        null or Undefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        List<object?> l => l.Count > 0,
        JinjaDict d => d.Count > 0,
        _ => true,
    };

    public static string TypeName(object? v) => v switch
    {
        null => "NoneType",
        Undefined => "Undefined",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        List<object?> => "list",
        JinjaDict => "dict",
        Namespace => "Namespace",
        JinjaFunction => "function",
        _ => v.GetType().Name,
    };

    public static bool IsNumber(object? v) => v is long or double or bool;

    public static double ToDouble(object? v) => v switch
    {
        long l => l,
        double d => d,
        bool b => b ? 1 : 0,
        _ => throw new TemplateException($"TypeError: expected a number, found {TypeName(v)}"),
    };

    public static new bool Equals(object? a, object? b)
    {
        if (a is Undefined || b is Undefined) return a is Undefined && b is Undefined;
        if (IsNumber(a) && IsNumber(b)) return a is long la && b is long lb ? la == lb : ToDouble(a) == ToDouble(b);
        return (a, b) switch
        {
            (null, null) => true,
            (string x, string y) => x == y,
            (List<object?> x, List<object?> y) => x.Count == y.Count && x.Zip(y).All(p => Equals(p.First, p.Second)),
            (JinjaDict x, JinjaDict y) =>
                x.Count == y.Count && x.All(kv => y.TryGetValue(kv.Key, out var o) && Equals(kv.Value, o)),
            _ => ReferenceEquals(a, b),
        };
    }

    public static int Compare(object? a, object? b)
    {
        if (IsNumber(a) && IsNumber(b)) return a is long la && b is long lb ? la.CompareTo(lb) : ToDouble(a).CompareTo(ToDouble(b));
        if (a is string x && b is string y) return string.CompareOrdinal(x, y);
        if (a is List<object?> p && b is List<object?> q)
        {
            for (int i = 0; i < Math.Min(p.Count, q.Count); i++)
            {
                if (!Equals(p[i], q[i])) return Compare(p[i], q[i]);
            }

            return p.Count.CompareTo(q.Count);
        }

        throw new TemplateException($"TypeError: '<' not supported between instances of '{TypeName(a)}' and '{TypeName(b)}'");
    }

    /// <summary>str(v), as {{ v }} prints it (an undefined value prints nothing).</summary>
    public static string Str(object? v) => v switch
    {
        null => "None",
        Undefined => "",
        string s => s,
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => FloatRepr(d),
        _ => Repr(v),
    };

    public static string Repr(object? v)
    {
        switch (v)
        {
            case string s:
                return StringRepr(s);
            case List<object?> list:
                return "[" + string.Join(", ", list.Select(Repr)) + "]";
            case JinjaDict d:
                return "{" + string.Join(", ", d.Select(kv => Repr(kv.Key) + ": " + Repr(kv.Value))) + "}";
            case Namespace ns:
                return "<Namespace " + string.Join(", ", ns.Values.Select(kv => kv.Key + "=" + Repr(kv.Value))) + ">";
            case JinjaFunction f:
                return $"<function {f.Name}>";
            default:
                return Str(v);
        }
    }

    private static string StringRepr(string s)
    {
        char quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        var sb = new StringBuilder().Append(quote);
        foreach (char c in s)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c == quote) sb.Append('\\').Append(c);
                    else if (c < 0x20 || c == 0x7f) sb.Append($"\\x{(int)c:x2}");
                    else sb.Append(c);
                    break;
            }
        }

        return sb.Append(quote).ToString();
    }

    /// <summary>Python's float repr: the shortest round-trip digits, '.0' on integers, exponents as 1e-05.</summary>
    public static string FloatRepr(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsInfinity(d)) return d > 0 ? "inf" : "-inf";
        string r = d.ToString("R", CultureInfo.InvariantCulture);
        if (r.Contains('E'))
        {
            double exp = Math.Floor(Math.Log10(Math.Abs(d)));
            if (exp >= -4 && exp < 16) r = d.ToString("0.################", CultureInfo.InvariantCulture);
            else
            {
                var parts = r.Split('E');
                int e = int.Parse(parts[1], CultureInfo.InvariantCulture);
                return parts[0] + "e" + (e < 0 ? "-" : "+") + Math.Abs(e).ToString("00", CultureInfo.InvariantCulture);
            }
        }

        if (!r.Contains('.') && !r.Contains('e'))
        {
            if (Math.Abs(d) >= 1e16) return FloatRepr(d / Math.Pow(10, Math.Floor(Math.Log10(Math.Abs(d))))) + "e+" + ((int)Math.Floor(Math.Log10(Math.Abs(d)))).ToString(CultureInfo.InvariantCulture);
            r += ".0";
        }

        return r;
    }

    /// <summary>json.dumps(v, ensure_ascii=False, indent, separators, sort_keys), as Hugging Face's tojson filter calls it.</summary>
    public static string ToJson(object? v, int? indent, string? itemSeparator, string? keySeparator, bool sortKeys)
    {
        var sb = new StringBuilder();
        string item = itemSeparator ?? (indent is null ? ", " : ",");
        string key = keySeparator ?? ": ";
        WriteJson(sb, v, indent, item, key, sortKeys, 0);
        return sb.ToString();
    }

    private static void WriteJson(StringBuilder sb, object? v, int? indent, string item, string key, bool sortKeys, int level)
    {
        switch (v)
        {
            case null or Undefined:
                sb.Append("null");
                return;
            case bool b:
                sb.Append(b ? "true" : "false");
                return;
            case long l:
                sb.Append(l.ToString(CultureInfo.InvariantCulture));
                return;
            case double d:
                sb.Append(double.IsNaN(d) ? "NaN" : double.IsInfinity(d) ? (d > 0 ? "Infinity" : "-Infinity") : FloatRepr(d));
                return;
            case string s:
                JsonString(sb, s);
                return;
            case List<object?> list:
                {
                    if (list.Count == 0)
                    {
                        sb.Append("[]");
                        return;
                    }

                    sb.Append('[');
                    for (int i = 0; i < list.Count; i++)
                    {
                        if (i > 0) sb.Append(item);
                        NewLine(sb, indent, level + 1);
                        WriteJson(sb, list[i], indent, item, key, sortKeys, level + 1);
                    }

                    NewLine(sb, indent, level);
                    sb.Append(']');
                    return;
                }

            case JinjaDict or Namespace:
                {
                    IEnumerable<KeyValuePair<object, object?>> pairs = v is JinjaDict jd ? jd : ((Namespace)v).Values.Select(kv => KeyValuePair.Create((object)kv.Key, kv.Value));
                    if (!pairs.Any())
                    {
                        sb.Append("{}");
                        return;
                    }

                    if (sortKeys) pairs = pairs.OrderBy(kv => kv.Key, Comparer<object>.Create(Compare));
                    sb.Append('{');
                    bool first = true;
                    foreach (var kv in pairs)
                    {
                        if (!first) sb.Append(item);
                        first = false;
                        NewLine(sb, indent, level + 1);
                        JsonString(sb, JsonKey(kv.Key));
                        sb.Append(key);
                        WriteJson(sb, kv.Value, indent, item, key, sortKeys, level + 1);
                    }

                    NewLine(sb, indent, level);
                    sb.Append('}');
                    return;
                }

            default:
                throw new TemplateException($"TypeError: Object of type {TypeName(v)} is not JSON serializable");
        }
    }

    /// <summary>What json.dumps makes of a key: numbers and booleans become their JSON text.</summary>
    private static string JsonKey(object key) => key switch
    {
        string s => s,
        bool b => b ? "true" : "false",
        double d => FloatRepr(d),
        _ => Str(key),
    };

    private static void NewLine(StringBuilder sb, int? indent, int level)
    {
        if (indent is null) return;
        sb.Append('\n').Append(' ', indent.Value * level);
    }

    private static void JsonString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20) sb.Append($"\\u{(int)c:x4}");
                    else sb.Append(c);
                    break;
            }
        }

        sb.Append('"');
    }
}
