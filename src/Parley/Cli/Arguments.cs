using System.Globalization;

namespace Parley.Cli;

/// <summary>
/// Minimal option parsing: "-x value", "--name value" and "--flag". Unknown options and bad values
/// are errors that name the option, so a typo never silently changes a run.
/// </summary>
public sealed class Arguments
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public Arguments(IEnumerable<string> args, IReadOnlySet<string> flags)
    {
        using var e = args.GetEnumerator();
        while (e.MoveNext())
        {
            string a = e.Current;
            if (!a.StartsWith('-') || a.Length < 2) throw new CliException($"unexpected argument '{a}'");
            if (flags.Contains(a))
            {
                _values[a] = null;
                continue;
            }

            if (!e.MoveNext()) throw new CliException($"option {a} needs a value");
            _values[a] = e.Current;
        }
    }

    public bool Flag(string name)
    {
        _used.Add(name);
        return _values.ContainsKey(name);
    }

    public string? String(params string[] names)
    {
        foreach (var n in names)
        {
            _used.Add(n);
            if (_values.TryGetValue(n, out var v)) return v;
        }

        return null;
    }

    public int Int(int fallback, params string[] names)
    {
        string? s = String(names);
        if (s is null) return fallback;
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v)) throw new CliException($"option {names[0]} expects an integer, got '{s}'");
        return v;
    }

    public float Float(float fallback, params string[] names)
    {
        string? s = String(names);
        if (s is null) return fallback;
        if (!float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out float v)) throw new CliException($"option {names[0]} expects a number, got '{s}'");
        return v;
    }

    /// <summary>Fails on any option that no command asked about.</summary>
    public void RejectUnknown()
    {
        foreach (var k in _values.Keys)
        {
            if (!_used.Contains(k)) throw new CliException($"unknown option {k}");
        }
    }
}
