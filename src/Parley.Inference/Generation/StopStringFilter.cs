namespace Parley.Inference.Generation;

/// <summary>
/// Holds back streamed text that might be the start of a stop string, and cuts the output where
/// one appears, so a client never sees any part of a stop string.
/// </summary>
public sealed class StopStringFilter(IReadOnlyList<string> stops)
{
    private string _pending = "";

    public bool Stopped { get; private set; }

    /// <summary>Takes new text; returns what can be shown now.</summary>
    public string Push(string text)
    {
        if (Stopped) return "";
        if (stops.Count == 0) return text;
        _pending += text;
        int cut = -1;
        foreach (var s in stops)
        {
            if (s.Length == 0) continue;
            int at = _pending.IndexOf(s, StringComparison.Ordinal);
            if (at >= 0 && (cut < 0 || at < cut)) cut = at;
        }

        if (cut >= 0)
        {
            Stopped = true;
            string shown = _pending[..cut];
            _pending = "";
            return shown;
        }

        int hold = 0;
        foreach (var s in stops)
        {
            for (int len = Math.Min(s.Length - 1, _pending.Length); len > hold; len--)
            {
                if (_pending.AsSpan(_pending.Length - len).SequenceEqual(s.AsSpan(0, len)))
                {
                    hold = len;
                    break;
                }
            }
        }

        string ready = _pending[..^hold];
        _pending = _pending[^hold..];
        return ready;
    }

    /// <summary>The held-back text, at the end of a generation that did not hit a stop string.</summary>
    public string Flush()
    {
        string rest = Stopped ? "" : _pending;
        _pending = "";
        return rest;
    }
}
