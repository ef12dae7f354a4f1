using System.Globalization;
using System.Text.Json;

namespace Parley.Inference.Templates;

/// <summary>
/// A model's chat template (GGUF tokenizer.chat_template), parsed once and rendered per request
/// the way Hugging Face transformers renders it: Jinja2 with trim_blocks and lstrip_blocks, the
/// globals raise_exception, strftime_now, range, namespace and dict, and a tojson that keeps
/// non-ASCII text. Models without a template get ChatML.
/// </summary>
public sealed class ChatTemplate
{
    /// <summary>ChatML, for models that ship no template.</summary>
    public const string ChatMl =
        "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    private readonly List<Stmt> _body;

    private ChatTemplate(string source) => _body = new JinjaParser(new JinjaLexer(source).Tokenize()).ParseTemplate();

    /// <summary>The template a GGUF file ships in tokenizer.chat_template, or ChatML when it has none.</summary>
    public static ChatTemplate FromGguf(Gguf.GgufFile file) => Parse(file.GetStringOrNull("tokenizer.chat_template") ?? ChatMl);

    /// <summary>Parses <paramref name="source"/>; a syntax error is a <see cref="TemplateException"/> naming the line.</summary>
    public static ChatTemplate Parse(string source) => new(source);

    /// <summary>
    /// Renders with <paramref name="variables"/> as JSON-like values (messages, bos_token,
    /// add_generation_prompt, tools, ...): strings, numbers, booleans, null, lists, and
    /// dictionaries with string keys, or JsonElements. <paramref name="now"/> feeds strftime_now.
    /// </summary>
    public string Render(IReadOnlyDictionary<string, object?> variables, DateTime? now = null)
    {
        var globals = new Scope(null);
        var clock = now ?? DateTime.Now;
        globals.Set("raise_exception", new JinjaFunction("raise_exception", (a, _) => throw new TemplateException(Py.Str(a.ElementAtOrDefault(0)), raisedByTemplate: true)));
        globals.Set("strftime_now", new JinjaFunction("strftime_now", (a, _) => Strftime(clock, Py.Str(a.ElementAtOrDefault(0)))));
        globals.Set("range", new JinjaFunction("range", (a, _) => Range(a)));
        globals.Set("namespace", new JinjaFunction("namespace", (a, kw) =>
        {
            var ns = new Namespace();
            if (a.Count > 0 && a[0] is JinjaDict init)
            {
                foreach (var kv in init) ns.Values[kv.Key as string ?? throw new TemplateException("TypeError: namespace() keywords must be strings")] = kv.Value;
            }

            foreach (var kv in kw) ns.Values[kv.Key] = kv.Value;
            return ns;
        }));
        globals.Set("dict", new JinjaFunction("dict", (a, kw) =>
        {
            var d = new JinjaDict();
            if (a.Count > 0 && a[0] is JinjaDict init)
            {
                foreach (var kv in init) d[kv.Key] = kv.Value;
            }

            foreach (var kv in kw) d[kv.Key] = kv.Value;
            return d;
        }));
        foreach (var (name, value) in variables) globals.Set(name, FromClr(value));
        return new JinjaInterpreter().Render(_body, globals);
    }

    /// <summary>Converts CLR values (and JSON) into the template's value model.</summary>
    private static object? FromClr(object? v) => v switch
    {
        null => null,
        JsonElement e => Py.FromJson(e),
        string or bool or long or double => v,
        int i => (long)i,
        float f => (double)f,
        IReadOnlyDictionary<string, object?> d => ToDict(d),
        IDictionary<string, object?> d => ToDict(d),
        System.Collections.IEnumerable list => list.Cast<object?>().Select(FromClr).ToList(),
        _ => v.ToString(),
    };

    private static JinjaDict ToDict(IEnumerable<KeyValuePair<string, object?>> pairs)
    {
        var d = new JinjaDict();
        foreach (var kv in pairs) d[kv.Key] = FromClr(kv.Value);
        return d;
    }

    private static List<object?> Range(List<object?> a)
    {
        long start = 0, stop, step = 1;
        if (a.Count == 1) stop = (long)Py.ToDouble(a[0]);
        else
        {
            start = (long)Py.ToDouble(a[0]);
            stop = (long)Py.ToDouble(a[1]);
            if (a.Count > 2) step = (long)Py.ToDouble(a[2]);
        }

        if (step == 0) throw new TemplateException("ValueError: range() arg 3 must not be zero");
        var r = new List<object?>();
        for (long i = start; step > 0 ? i < stop : i > stop; i += step)
        {
            if (r.Count >= 100_000) throw new TemplateException("OverflowError: range too big");
            r.Add(i);
        }

        return r;
    }

    /// <summary>The strftime directives templates use (%d %b %Y %B %m %H %M %S %A %a %y %j %p %I %%).</summary>
    private static string Strftime(DateTime t, string format)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 >= format.Length)
            {
                sb.Append(format[i]);
                continue;
            }

            char c = format[++i];
            sb.Append(c switch
            {
                'd' => t.ToString("dd", inv),
                'm' => t.ToString("MM", inv),
                'Y' => t.ToString("yyyy", inv),
                'y' => t.ToString("yy", inv),
                'b' => t.ToString("MMM", inv),
                'B' => t.ToString("MMMM", inv),
                'a' => t.ToString("ddd", inv),
                'A' => t.ToString("dddd", inv),
                'H' => t.ToString("HH", inv),
                'I' => t.ToString("hh", inv),
                'M' => t.ToString("mm", inv),
                'S' => t.ToString("ss", inv),
                'p' => t.Hour < 12 ? "AM" : "PM",
                'j' => t.DayOfYear.ToString("000", inv),
                '-' when i + 1 < format.Length && format[i + 1] == 'd' => (++i > 0 ? t.Day.ToString(inv) : ""),
                '%' => "%",
                _ => "%" + c,
            });
        }

        return sb.ToString();
    }
}
