using System.Text;

namespace Parley.Inference.Tokenization;

/// <summary>
/// Turns the bytes of streamed tokens into text without ever emitting a broken character: a
/// multi-byte UTF-8 sequence split across tokens is held back until it is complete.
/// </summary>
public sealed class Utf8StreamDecoder
{
    private readonly Decoder _decoder = new UTF8Encoding(false, false).GetDecoder();
    private readonly List<byte> _bytes = [];
    private char[] _chars = new char[64];

    /// <summary>Text completed by this token's bytes (possibly empty).</summary>
    public string Push(Tokenizer tokenizer, int id, bool renderSpecial = false)
    {
        _bytes.Clear();
        tokenizer.AppendBytes(id, _bytes, renderSpecial);
        return Push(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_bytes), flush: false);
    }

    public string Push(ReadOnlySpan<byte> bytes, bool flush)
    {
        int need = _decoder.GetCharCount(bytes, flush);
        if (need > _chars.Length) _chars = new char[Math.Max(need, _chars.Length * 2)];
        int n = _decoder.GetChars(bytes, _chars, flush);
        return new string(_chars, 0, n);
    }

    /// <summary>Whatever is still held back, as replacement characters (the stream ended mid-character).</summary>
    public string Flush() => Push([], flush: true);
}
