using System.Text;
using Parley.Inference.Gguf;

namespace Parley.Inference.Tokenization;

/// <summary>
/// Text to token ids and back, built from a GGUF file's tokenizer metadata: SentencePiece-style
/// (tokenizer.ggml.model = llama) or byte-level BPE (gpt2). Behaves as llama_tokenize does.
/// </summary>
public sealed class Tokenizer
{
    private readonly SpmEncoder? _spm;
    private readonly BpeEncoder? _bpe;
    /// <summary>Control, unknown and user-defined tokens, longest text first, as candidates for splitting text.</summary>
    private readonly (string Text, int Id, bool AlwaysParsed)[] _specials;

    public Tokenizer(Vocabulary vocab)
    {
        Vocab = vocab;
        if (vocab.Model == "llama") _spm = new SpmEncoder(vocab);
        else _bpe = new BpeEncoder(vocab);

        var specials = new List<(string, int, bool)>();
        for (int i = 0; i < vocab.Count; i++)
        {
            var t = vocab.Types[i];
            if (t is TokenType.Control or TokenType.Unknown or TokenType.UserDefined && vocab.Tokens[i].Length > 0)
            {
                specials.Add((vocab.Tokens[i], i, t == TokenType.UserDefined));
            }
        }

        _specials = [.. specials.OrderByDescending(s => s.Item1.Length).ThenBy(s => s.Item2)];
    }

    public static Tokenizer FromGguf(GgufFile file) => new(new Vocabulary(file));

    public Vocabulary Vocab { get; }

    /// <summary>
    /// Tokenizes <paramref name="text"/>. <paramref name="addSpecial"/> adds BOS/EOS as the model
    /// asks; <paramref name="parseSpecial"/> turns control-token texts such as &lt;|im_start|&gt; into
    /// their ids (user-defined tokens are always matched, as in llama.cpp).
    /// </summary>
    public List<int> Encode(string text, bool addSpecial = true, bool parseSpecial = false)
    {
        var output = new List<int>();
        if (addSpecial && Vocab.AddBos && Vocab.Bos != Vocabulary.NoToken) output.Add(Vocab.Bos);
        bool prevSpecial = true;
        foreach (var (raw, id) in Partition(text, parseSpecial))
        {
            if (raw is null)
            {
                output.Add(id);
                prevSpecial = true;
                continue;
            }

            if (_spm != null)
            {
                string t = Vocab.AddSpacePrefix && prevSpecial ? " " + raw : raw;
                _spm.Encode(t.Replace(' ', '\u2581'), output);
            }
            else
            {
                _bpe!.Encode(raw, output);
            }

            prevSpecial = false;
        }

        if (addSpecial && Vocab.AddEos && Vocab.Eos != Vocabulary.NoToken) output.Add(Vocab.Eos);
        return output;
    }

    /// <summary>Splits text around special-token texts: (raw text, -1) or (null, token id) pieces in order.</summary>
    private List<(string? Raw, int Id)> Partition(string text, bool parseSpecial)
    {
        var pieces = new List<(string? Raw, int Id)>();
        if (text.Length > 0) pieces.Add((text, -1));
        foreach (var (special, id, always) in _specials)
        {
            if (!parseSpecial && !always) continue;
            for (int i = 0; i < pieces.Count; i++)
            {
                var raw = pieces[i].Raw;
                if (raw is null) continue;
                int at = raw.IndexOf(special, StringComparison.Ordinal);
                if (at < 0) continue;
                var split = new List<(string?, int)>();
                int start = 0;
                while (at >= 0)
                {
                    if (at > start) split.Add((raw[start..at], -1));
                    split.Add((null, id));
                    start = at + special.Length;
                    at = raw.IndexOf(special, start, StringComparison.Ordinal);
                }

                if (start < raw.Length) split.Add((raw[start..], -1));
                pieces.RemoveAt(i);
                pieces.InsertRange(i, split);
                i += split.Count - 1;
            }
        }

        return pieces;
    }

    /// <summary>
    /// Appends the bytes token <paramref name="id"/> stands for. Control tokens are empty unless
    /// <paramref name="renderSpecial"/>; byte tokens are their byte; SentencePiece '▁' is a space.
    /// </summary>
    public void AppendBytes(int id, List<byte> output, bool renderSpecial = false)
    {
        if ((uint)id >= (uint)Vocab.Count) return;
        string text = Vocab.Tokens[id];
        switch (Vocab.Types[id])
        {
            case TokenType.Control:
            case TokenType.Unknown when _spm == null:
                if (renderSpecial) output.AddRange(Encoding.UTF8.GetBytes(text));
                return;
            case TokenType.UserDefined:
                output.AddRange(Encoding.UTF8.GetBytes(text));
                return;
            case TokenType.Byte when _spm != null && text.Length == 6 && text.StartsWith("<0x", StringComparison.Ordinal):
                output.Add(Convert.ToByte(text.Substring(3, 2), 16));
                return;
        }

        if (_spm != null) output.AddRange(Encoding.UTF8.GetBytes(text.Replace('\u2581', ' ')));
        else ByteLevel.Decode(text, output);
    }

    /// <summary>Decodes a whole sequence to text (invalid UTF-8 becomes U+FFFD).</summary>
    public string Decode(IEnumerable<int> ids, bool renderSpecial = false)
    {
        var bytes = new List<byte>();
        foreach (int id in ids) AppendBytes(id, bytes, renderSpecial);
        return Encoding.UTF8.GetString(bytes.ToArray());
    }
}
