namespace Parley.Inference.Tokenization;

/// <summary>
/// SentencePiece-style encoding as llama.cpp does it: start from single characters and keep merging
/// the adjacent pair whose concatenation is the highest-scoring token (leftmost on ties); characters
/// that end up outside the vocabulary fall back to their UTF-8 bytes (&lt;0xXX&gt; tokens).
/// </summary>
internal sealed class SpmEncoder(Vocabulary vocab)
{
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup = vocab.SpanLookup;
    private readonly int[] _byteTokens = BuildByteTokens(vocab);

    private static int[] BuildByteTokens(Vocabulary v)
    {
        var ids = new int[256];
        for (int b = 0; b < 256; b++)
        {
            int id = v.Find($"<0x{b:X2}>");
            ids[b] = id != Vocabulary.NoToken ? id : v.Unknown;
        }

        return ids;
    }

    /// <summary>Encodes text whose spaces are already escaped to '▁'.</summary>
    public void Encode(string text, List<int> output)
    {
        if (text.Length == 0) return;
        var symbols = new List<Symbol>(text.Length);
        for (int i = 0; i < text.Length;)
        {
            int len = char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
            symbols.Add(new Symbol { Start = i, Length = len, Prev = symbols.Count - 1, Next = i + len < text.Length ? symbols.Count + 1 : -1 });
            i += len;
        }

        // Highest score first; on equal scores the leftmost pair.
        var ranker = new ScoreRanker(_lookup, vocab.Scores);
        SymbolMerger.Merge(text, symbols, HighestFirst, ref ranker);

        // Every merged symbol is a token by construction; only single characters can be missing.
        Span<byte> utf8 = stackalloc byte[8];
        for (int i = 0; i != -1; i = symbols[i].Next)
        {
            var sym = symbols[i];
            var piece = text.AsSpan(sym.Start, sym.Length);
            if (_lookup.TryGetValue(piece, out int id))
            {
                output.Add(id);
                continue;
            }

            int n = System.Text.Encoding.UTF8.GetBytes(piece, utf8);
            for (int b = 0; b < n; b++) output.Add(_byteTokens[utf8[b]]);
        }
    }

    private static readonly Comparer<float> HighestFirst = Comparer<float>.Create((a, b) => b.CompareTo(a));

    /// <summary>Two runs merge when their concatenation is a token; its score ranks the merge.</summary>
    private readonly struct ScoreRanker(Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> lookup, float[] scores) : IPairRanker<float>
    {
        public bool TryRank(ReadOnlySpan<char> left, ReadOnlySpan<char> right, out float priority)
        {
            // The two runs are adjacent in the text, so their concatenation is one span starting at left.
            var both = System.Runtime.InteropServices.MemoryMarshal.CreateReadOnlySpan(
                ref System.Runtime.InteropServices.MemoryMarshal.GetReference(left), left.Length + right.Length);
            bool merges = lookup.TryGetValue(both, out int id);
            priority = merges ? scores[id] : 0;
            return merges;
        }
    }
}
