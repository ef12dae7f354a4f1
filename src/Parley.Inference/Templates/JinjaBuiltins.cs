using System.Globalization;
using System.Text;

namespace Parley.Inference.Templates;

/// <summary>The filters, tests and value methods (str, list, dict) that chat templates use.</summary>
internal sealed partial class JinjaInterpreter
{
    private static object? Arg(List<object?> args, Dictionary<string, object?> kwargs, int index, string name, object? fallback = null) =>
        index >= 0 && index < args.Count ? args[index] : kwargs.TryGetValue(name, out var v) ? v : fallback;

    private object? ApplyFilter(string name, object? v, List<object?> args, Dictionary<string, object?> kwargs, int line)
    {
        // Jinja2's map/select family reads "if value: for item in value", so None selects nothing.
        if (v is null && name is "map" or "select" or "reject" or "selectattr" or "rejectattr") return new List<object?>();
        switch (name)
        {
            case "default" or "d":
                {
                    bool boolean = Py.Truthy(Arg(args, kwargs, 1, "boolean", false));
                    return v is Undefined || (boolean && !Py.Truthy(v)) ? Arg(args, kwargs, 0, "default_value", "") : v;
                }

            case "length" or "count":
                return v switch
                {
                    string s => (long)new StringInfo(s).LengthInTextElements,
                    List<object?> l => (long)l.Count,
                    JinjaDict d => (long)d.Count,
                    Undefined => 0L,
                    _ => throw new TemplateException($"TypeError: object of type '{Py.TypeName(v)}' has no len()"),
                };
            case "string":
                return Py.Str(v);
            case "trim":
                {
                    var chars = Arg(args, kwargs, 0, "chars") as string;
                    return chars is null ? Py.Str(v).Trim(PyWhitespace) : Py.Str(v).Trim(chars.ToCharArray());
                }

            case "upper": return Py.Str(v).ToUpperInvariant();
            case "lower": return Py.Str(v).ToLowerInvariant();
            case "capitalize": return Capitalize(Py.Str(v));
            case "title": return Title(Py.Str(v));
            case "replace":
                {
                    string s = Py.Str(v), old = Py.Str(args[0]), repl = Py.Str(args[1]);
                    return old.Length == 0 ? s : s.Replace(old, repl, StringComparison.Ordinal);
                }

            case "join":
                {
                    string sep = Py.Str(Arg(args, kwargs, 0, "d", ""));
                    var attr = Arg(args, kwargs, 1, "attribute") as string;
                    return string.Join(sep, Iterate(v, line).Select(x => Py.Str(attr is null ? x : GetItemValue(x, attr))));
                }

            case "first": return Iterate(v, line).FirstOrDefault(new Undefined("the first item of an empty sequence"));
            case "last": return v is List<object?> { Count: > 0 } l2 ? l2[^1] : new Undefined("the last item of an empty sequence");
            case "list": return Iterate(v, line).ToList();
            case "reverse": return v is string rs ? new string(rs.Reverse().ToArray()) : Iterate(v, line).Reverse().ToList();
            case "unique":
                {
                    var result = new List<object?>();
                    foreach (var x in Iterate(v, line))
                    {
                        if (!result.Any(y => Py.Equals(x, y))) result.Add(x);
                    }

                    return result;
                }

            case "sort":
                {
                    bool reverse = Py.Truthy(Arg(args, kwargs, 0, "reverse", false));
                    var attr = Arg(args, kwargs, 2, "attribute") as string;
                    var items = Iterate(v, line).ToList();
                    var sorted = items.Order(Comparer<object?>.Create((a, b) => Py.Compare(attr is null ? a : GetItemValue(a, attr), attr is null ? b : GetItemValue(b, attr)))).ToList();
                    if (reverse) sorted.Reverse();
                    return sorted;
                }

            case "dictsort":
                // By key, strings without regard to case (Jinja's default).
                return v is JinjaDict dd
                    ? dd.OrderBy(kv => kv.Key is string s ? s.ToLowerInvariant() : kv.Key, Comparer<object>.Create(Py.Compare)).Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList()
                    : throw new TemplateException("dictsort expects a dict");
            case "items":
                return v switch
                {
                    JinjaDict d => d.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList(),
                    Undefined => new List<object?>(),
                    _ => throw new TemplateException($"items expects a dict, found {Py.TypeName(v)}"),
                };
            case "tojson":
                {
                    var indent = Arg(args, kwargs, 0, "indent");
                    var separators = Arg(args, kwargs, 2, "separators") as List<object?>;
                    return Py.ToJson(v, indent is null ? null : (int)Py.ToDouble(indent), separators?[0] as string, separators?[1] as string,
                        Py.Truthy(Arg(args, kwargs, 3, "sort_keys", false)));
                }

            case "int":
                return v switch
                {
                    long l => l,
                    double d => (long)Math.Truncate(d),
                    bool b => b ? 1L : 0L,
                    string s when long.TryParse(s.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var p) => p,
                    string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var pd) => (long)Math.Truncate(pd),
                    _ => Arg(args, kwargs, 0, "default", 0L),
                };
            case "float":
                return v switch
                {
                    long or double or bool => Py.ToDouble(v),
                    string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var p) => p,
                    _ => Arg(args, kwargs, 0, "default", 0.0),
                };
            case "abs": return v is long al ? Math.Abs(al) : Math.Abs(Py.ToDouble(v));
            case "round":
                {
                    long precision = (long)Py.ToDouble(Arg(args, kwargs, 0, "precision", 0L));
                    return Math.Round(Py.ToDouble(v), (int)precision, MidpointRounding.ToEven);
                }

            case "sum": return Iterate(v, line).Aggregate((object?)0L, (acc, x) => Arithmetic(acc, x, "+", (a, b) => a + b, (a, b) => a + b));
            case "min": return Iterate(v, line).Aggregate((a, b) => Py.Compare(a, b) <= 0 ? a : b);
            case "max": return Iterate(v, line).Aggregate((a, b) => Py.Compare(a, b) >= 0 ? a : b);
            case "indent":
                {
                    int width = (int)Py.ToDouble(Arg(args, kwargs, 0, "width", 4L));
                    bool first = Py.Truthy(Arg(args, kwargs, 1, "first", false));
                    bool blank = Py.Truthy(Arg(args, kwargs, 2, "blank", false));
                    string pad = new(' ', width);
                    var lines = Py.Str(v).Split('\n');
                    var sb = new StringBuilder();
                    for (int i = 0; i < lines.Length; i++)
                    {
                        if (i > 0) sb.Append('\n');
                        bool indentThis = (i > 0 || first) && (blank || lines[i].Trim(PyWhitespace).Length > 0);
                        if (indentThis) sb.Append(pad);
                        sb.Append(lines[i]);
                    }

                    return sb.ToString();
                }

            case "safe" or "e" or "escape" or "forceescape":
                // markupsafe's escape; templates render without autoescape, so 'safe' changes nothing.
                return name == "safe" ? v : Py.Str(v).Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&#34;").Replace("'", "&#39;");
            case "wordcount": return (long)Py.Str(v).Split(PyWhitespace, StringSplitOptions.RemoveEmptyEntries).Length;
            case "attr": return GetAttribute(v, Py.Str(args[0]));
            case "map":
                {
                    if (Arg(args, kwargs, -1, "attribute") is string attr)
                    {
                        var dflt = kwargs.GetValueOrDefault("default");
                        return Iterate(v, line).Select(x =>
                        {
                            var r = GetItemValue(x, attr);
                            return r is Undefined && kwargs.ContainsKey("default") ? dflt : r;
                        }).ToList();
                    }

                    string filter = Py.Str(args[0]);
                    var rest = args.Skip(1).ToList();
                    return Iterate(v, line).Select(x => ApplyFilter(filter, x, rest, [], line)).ToList();
                }

            case "select" or "reject":
                {
                    bool keep = name == "select";
                    return Iterate(v, line).Where(x => (args.Count == 0 ? Py.Truthy(x) : ApplyTest(Py.Str(args[0]), x, args.Skip(1).ToList(), line)) == keep).ToList();
                }

            case "selectattr" or "rejectattr":
                {
                    bool keep = name == "selectattr";
                    string attr = Py.Str(args[0]);
                    return Iterate(v, line).Where(x =>
                    {
                        var a = GetItemValue(x, attr);
                        return (args.Count < 2 ? Py.Truthy(a) : ApplyTest(Py.Str(args[1]), a, args.Skip(2).ToList(), line)) == keep;
                    }).ToList();
                }

            case "batch":
                {
                    int size = (int)Py.ToDouble(args[0]);
                    return Iterate(v, line).Chunk(size).Select(c => (object?)c.ToList()).ToList();
                }

            case "center":
                {
                    string s = Py.Str(v);
                    int width = (int)Py.ToDouble(Arg(args, kwargs, 0, "width", 80L));
                    int total = Math.Max(0, width - s.Length), left = total / 2 + (total & width & 1);
                    return new string(' ', left) + s + new string(' ', total - left);
                }

            case "truncate":
                {
                    string s = Py.Str(v);
                    int length = (int)Py.ToDouble(Arg(args, kwargs, 0, "length", 255L));
                    return s.Length <= length ? s : s[..Math.Max(0, length - 3)] + "...";
                }

            case "format": return FormatString(Py.Str(v), args, kwargs);
            case "pprint": return Py.Repr(v);
            default:
                throw new TemplateException($"TemplateAssertionError at line {line}: no filter named '{name}'");
        }
    }

    private bool ApplyTest(string name, object? v, List<object?> args, int line) => name switch
    {
        "defined" => v is not Undefined,
        "undefined" => v is Undefined,
        "none" => v is null,
        "string" => v is string,
        "number" => v is long or double,
        "integer" => v is long,
        "float" => v is double,
        "boolean" => v is bool,
        "true" => v is true,
        "false" => v is false,
        "mapping" => v is JinjaDict or Namespace,
        "sequence" => v is List<object?> or string,
        "iterable" => v is List<object?> or string or JinjaDict,
        "callable" => v is JinjaFunction,
        "odd" => (long)Py.ToDouble(v) % 2 != 0,
        "even" => (long)Py.ToDouble(v) % 2 == 0,
        "divisibleby" => (long)Py.ToDouble(v) % (long)Py.ToDouble(args[0]) == 0,
        "eq" or "equalto" or "==" => Py.Equals(v, args[0]),
        "ne" or "!=" => !Py.Equals(v, args[0]),
        "lt" or "lessthan" or "<" => Py.Compare(v, args[0]) < 0,
        "le" or "<=" => Py.Compare(v, args[0]) <= 0,
        "gt" or "greaterthan" or ">" => Py.Compare(v, args[0]) > 0,
        "ge" or ">=" => Py.Compare(v, args[0]) >= 0,
        "in" => Contains(args[0], v),
        "sameas" => ReferenceEquals(v, args[0]) || (v is null && args[0] is null) || (v is bool a && args[0] is bool b && a == b),
        "lower" => Py.Str(v) == Py.Str(v).ToLowerInvariant(),
        "upper" => Py.Str(v) == Py.Str(v).ToUpperInvariant(),
        _ => throw new TemplateException($"TemplateAssertionError at line {line}: no test named '{name}'"),
    };

    private static readonly char[] PyWhitespace = [' ', '\t', '\n', '\r', '\v', '\f'];

    private static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();

    private static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool prevCased = false;
        foreach (char c in s)
        {
            sb.Append(prevCased ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c));
            prevCased = char.IsLetter(c);
        }

        return sb.ToString();
    }

    private static string FormatString(string fmt, List<object?> args, Dictionary<string, object?> kwargs)
    {
        var sb = new StringBuilder();
        int auto = 0;
        for (int i = 0; i < fmt.Length; i++)
        {
            char c = fmt[i];
            if (c == '{' && i + 1 < fmt.Length && fmt[i + 1] == '{') { sb.Append('{'); i++; continue; }
            if (c == '}' && i + 1 < fmt.Length && fmt[i + 1] == '}') { sb.Append('}'); i++; continue; }
            if (c != '{') { sb.Append(c); continue; }
            int end = fmt.IndexOf('}', i);
            if (end < 0) throw new TemplateException("ValueError: single '{' encountered in format string");
            string field = fmt[(i + 1)..end].Split(':')[0];
            object? value = field.Length == 0 ? args.ElementAtOrDefault(auto++)
                : int.TryParse(field, out int idx) ? args.ElementAtOrDefault(idx)
                : kwargs.GetValueOrDefault(field);
            sb.Append(Py.Str(value));
            i = end;
        }

        return sb.ToString();
    }

    private static JinjaFunction Method(string name, Func<List<object?>, Dictionary<string, object?>, object?> f) => new(name, f);

    /// <summary>A bound method of a str, list or dict; null when the value has no such method.</summary>
    private static JinjaFunction? GetMethod(object? target, string name)
    {
        switch (target)
        {
            case string s:
                return name switch
                {
                    "strip" => Method(name, (a, _) => a.Count > 0 && a[0] is string cs ? s.Trim(cs.ToCharArray()) : s.Trim(PyWhitespace)),
                    "lstrip" => Method(name, (a, _) => a.Count > 0 && a[0] is string cs ? s.TrimStart(cs.ToCharArray()) : s.TrimStart(PyWhitespace)),
                    "rstrip" => Method(name, (a, _) => a.Count > 0 && a[0] is string cs ? s.TrimEnd(cs.ToCharArray()) : s.TrimEnd(PyWhitespace)),
                    "upper" => Method(name, (_, _) => s.ToUpperInvariant()),
                    "lower" => Method(name, (_, _) => s.ToLowerInvariant()),
                    "title" => Method(name, (_, _) => Title(s)),
                    "capitalize" => Method(name, (_, _) => Capitalize(s)),
                    "startswith" => Method(name, (a, _) => a[0] is List<object?> ps ? ps.Any(p => s.StartsWith(Py.Str(p), StringComparison.Ordinal)) : s.StartsWith(Py.Str(a[0]), StringComparison.Ordinal)),
                    "endswith" => Method(name, (a, _) => a[0] is List<object?> ps ? ps.Any(p => s.EndsWith(Py.Str(p), StringComparison.Ordinal)) : s.EndsWith(Py.Str(a[0]), StringComparison.Ordinal)),
                    "replace" => Method(name, (a, _) =>
                    {
                        string old = Py.Str(a[0]), repl = Py.Str(a[1]);
                        if (a.Count < 3) return old.Length == 0 ? s : s.Replace(old, repl, StringComparison.Ordinal);
                        long count = (long)Py.ToDouble(a[2]);
                        var sb = new StringBuilder();
                        int pos = 0;
                        for (long n = 0; n < count || count < 0; n++)
                        {
                            int at = s.IndexOf(old, pos, StringComparison.Ordinal);
                            if (at < 0 || old.Length == 0) break;
                            sb.Append(s, pos, at - pos).Append(repl);
                            pos = at + old.Length;
                        }

                        return sb.Append(s, pos, s.Length - pos).ToString();
                    }),
                    "split" => Method(name, (a, kw) => Split(s, Arg(a, kw, 0, "sep") as string, (int)Py.ToDouble(Arg(a, kw, 1, "maxsplit", -1L)))),
                    "rsplit" => Method(name, (a, kw) =>
                    {
                        var sep = Arg(a, kw, 0, "sep") as string;
                        int max = (int)Py.ToDouble(Arg(a, kw, 1, "maxsplit", -1L));
                        if (sep is null || max < 0) return Split(s, sep, max);
                        var parts = s.Split(sep).ToList();
                        while (parts.Count > max + 1)
                        {
                            parts[0] = parts[0] + sep + parts[1];
                            parts.RemoveAt(1);
                        }

                        return parts.Cast<object?>().ToList();
                    }),
                    "splitlines" => Method(name, (_, _) => s.Split('\n').Select(x => (object?)x.TrimEnd('\r')).ToList()),
                    "find" => Method(name, (a, _) => (long)s.IndexOf(Py.Str(a[0]), StringComparison.Ordinal)),
                    "count" => Method(name, (a, _) => (long)CountOccurrences(s, Py.Str(a[0]))),
                    "join" => Method(name, (a, _) => string.Join(s, Iterate(a[0], 0).Select(Py.Str))),
                    "format" => Method(name, (a, kw) => FormatString(s, a, kw)),
                    "isdigit" => Method(name, (_, _) => s.Length > 0 && s.All(char.IsDigit)),
                    "isalpha" => Method(name, (_, _) => s.Length > 0 && s.All(char.IsLetter)),
                    "isspace" => Method(name, (_, _) => s.Length > 0 && s.All(char.IsWhiteSpace)),
                    "removeprefix" => Method(name, (a, _) => s.StartsWith(Py.Str(a[0]), StringComparison.Ordinal) ? s[Py.Str(a[0]).Length..] : s),
                    "removesuffix" => Method(name, (a, _) => s.EndsWith(Py.Str(a[0]), StringComparison.Ordinal) ? s[..^Py.Str(a[0]).Length] : s),
                    _ => null,
                };
            case List<object?> l:
                return name switch
                {
                    "index" => Method(name, (a, _) => (long)l.FindIndex(x => Py.Equals(x, a[0]))),
                    "count" => Method(name, (a, _) => (long)l.Count(x => Py.Equals(x, a[0]))),
                    "append" or "extend" or "pop" or "insert" or "remove" or "clear" or "sort" or "reverse" =>
                        Method(name, (_, _) => throw new TemplateException($"SecurityError: access to attribute '{name}' of 'list' object is unsafe.")),
                    _ => null,
                };
            case JinjaDict d:
                return name switch
                {
                    "items" => Method(name, (_, _) => d.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList()),
                    "keys" => Method(name, (_, _) => d.Keys.Cast<object?>().ToList()),
                    "values" => Method(name, (_, _) => d.Values.ToList()),
                    "get" => Method(name, (a, _) => JinjaDict.IsHashable(a[0]) && d.TryGetValue(a[0]!, out var v) ? v : a.Count > 1 ? a[1] : null),
                    "update" or "pop" or "setdefault" or "clear" or "popitem" =>
                        Method(name, (_, _) => throw new TemplateException($"SecurityError: access to attribute '{name}' of 'dict' object is unsafe.")),
                    _ => null,
                };
            default:
                return null;
        }
    }

    private static int CountOccurrences(string s, string sub)
    {
        if (sub.Length == 0) return s.Length + 1;
        int n = 0;
        for (int i = s.IndexOf(sub, StringComparison.Ordinal); i >= 0; i = s.IndexOf(sub, i + sub.Length, StringComparison.Ordinal)) n++;
        return n;
    }

    private static List<object?> Split(string s, string? sep, int max)
    {
        if (sep is null)
        {
            var parts = s.Split(PyWhitespace, StringSplitOptions.RemoveEmptyEntries).ToList();
            if (max >= 0 && parts.Count > max + 1)
            {
                // Python keeps the rest of the string after maxsplit splits.
                var head = parts.Take(max).ToList();
                int consumed = 0;
                foreach (var p in head) consumed = s.IndexOf(p, consumed, StringComparison.Ordinal) + p.Length;
                head.Add(s[consumed..].TrimStart(PyWhitespace));
                parts = head;
            }

            return parts.Cast<object?>().ToList();
        }

        if (sep.Length == 0) throw new TemplateException("ValueError: empty separator");
        return (max < 0 ? s.Split(sep) : s.Split(sep, max + 1)).Cast<object?>().ToList();
    }
}
