using System.Text.RegularExpressions;

namespace Parley.Inference.Tokenization;

/// <summary>
/// Splits text into words before byte-level BPE, with the regular expressions llama.cpp uses for
/// each tokenizer.ggml.pre. Several expressions apply in turn, each splitting the previous pieces;
/// text between matches stays a piece of its own.
/// </summary>
internal sealed class PreTokenizer
{
    private const string Gpt2 = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";
    private const string Llama3 = @"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    private const string Qwen2 = @"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private static readonly Dictionary<string, string[]> ByPre = new(StringComparer.Ordinal)
    {
        ["default"] = [@"[\p{P}\$\+<=>\^~\|]+", Gpt2, @"\p{N}+", "[0-9][0-9][0-9]"],
        ["llama3"] = [Llama3],
        ["llama-v3"] = [Llama3],
        ["llama-bpe"] = [Llama3],
        ["smaug-bpe"] = [Llama3],
        ["qwen2"] = [Qwen2],
        ["deepseek-r1-qwen"] = [Qwen2],
        ["gpt-2"] = [Gpt2],
        ["phi-2"] = [Gpt2],
        ["smollm"] = [@"\p{N}", Gpt2],
        ["starcoder"] = [@"\p{N}", Gpt2],
        ["refact"] = [@"\p{N}", Gpt2],
        ["command-r"] = [@"\p{N}", Gpt2],
    };

    private readonly Regex[] _regexes;

    public PreTokenizer(string pre)
    {
        if (!ByPre.TryGetValue(pre, out var patterns))
        {
            throw new NotSupportedException($"pre-tokenizer \"{pre}\" is not supported; supported: {string.Join(", ", Supported)}");
        }

        _regexes = Array.ConvertAll(patterns, p => new Regex(p, RegexOptions.CultureInvariant | RegexOptions.Compiled));
    }

    public static IEnumerable<string> Supported => ByPre.Keys;

    public List<string> Split(string text)
    {
        var pieces = new List<string> { text };
        foreach (var regex in _regexes)
        {
            var next = new List<string>(pieces.Count * 2);
            foreach (var piece in pieces)
            {
                int start = 0;
                foreach (var m in regex.EnumerateMatches(piece))
                {
                    if (m.Length == 0) continue;
                    if (m.Index > start) next.Add(piece[start..m.Index]);
                    next.Add(piece.Substring(m.Index, m.Length));
                    start = m.Index + m.Length;
                }

                if (start < piece.Length) next.Add(piece[start..]);
            }

            pieces = next;
        }

        return pieces;
    }
}
