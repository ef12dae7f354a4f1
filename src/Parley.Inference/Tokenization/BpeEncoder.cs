using System.Buffers;
using System.Text;

namespace Parley.Inference.Tokenization;

/// <summary>
/// Byte-level BPE as llama.cpp does it: each pre-tokenized word is spelled in GPT-2's byte
/// characters, then the adjacent pair with the lowest merge rank is merged until none is left.
/// </summary>
internal sealed class BpeEncoder
{
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _tokens;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _ranks;
    private readonly PreTokenizer _pre;
    /// <summary>Llama 3 looks a whole word up before merging (its merges cannot build some tokens).</summary>
    private readonly bool _ignoreMerges;

    public BpeEncoder(Vocabulary vocab)
    {
        _tokens = vocab.SpanLookup;
        var merges = vocab.Merges ?? [];
        var ranks = new Dictionary<string, int>(merges.Length, StringComparer.Ordinal);
        for (int i = 0; i < merges.Length; i++) ranks.TryAdd(merges[i], i);
        _ranks = ranks.GetAlternateLookup<ReadOnlySpan<char>>();
        _pre = new PreTokenizer(vocab.Pre);
        _ignoreMerges = vocab.Pre is "llama3" or "llama-v3" or "llama-bpe";
    }

    public void Encode(string text, List<int> output)
    {
        foreach (var word in _pre.Split(text)) EncodeWord(ByteLevel.Encode(Encoding.UTF8.GetBytes(word)), output);
    }

    private void EncodeWord(string word, List<int> output)
    {
        if (_ignoreMerges && _tokens.TryGetValue(word, out int whole))
        {
            output.Add(whole);
            return;
        }

        var symbols = new List<Symbol>(word.Length);
        for (int i = 0; i < word.Length; i++)
        {
            symbols.Add(new Symbol { Start = i, Length = 1, Prev = i - 1, Next = i + 1 < word.Length ? i + 1 : -1 });
        }

        // Lowest merge rank first; on equal ranks the leftmost pair.
        var ranker = new MergeRanker(_ranks, ArrayPool<char>.Shared.Rent(256));
        SymbolMerger.Merge(word, symbols, Comparer<int>.Default, ref ranker);
        ArrayPool<char>.Shared.Return(ranker.Key);

        for (int i = 0; i != -1; i = symbols[i].Next)
        {
            var piece = word.AsSpan(symbols[i].Start, symbols[i].Length);
            if (_tokens.TryGetValue(piece, out int id))
            {
                output.Add(id);
                continue;
            }

            foreach (char c in piece) // not reachable with a consistent vocabulary: fall back to single bytes
            {
                if (_tokens.TryGetValue([c], out int b)) output.Add(b);
            }
        }
    }

    /// <summary>Two runs merge when "left right" is in the merge list; its position ranks the merge.</summary>
    private struct MergeRanker(Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> ranks, char[] key) : IPairRanker<int>
    {
        public char[] Key = key;

        public bool TryRank(ReadOnlySpan<char> left, ReadOnlySpan<char> right, out int priority)
        {
            int need = left.Length + right.Length + 1;
            if (need > Key.Length)
            {
                ArrayPool<char>.Shared.Return(Key);
                Key = ArrayPool<char>.Shared.Rent(need);
            }

            left.CopyTo(Key);
            Key[left.Length] = ' ';
            right.CopyTo(Key.AsSpan(left.Length + 1));
            return ranks.TryGetValue(Key.AsSpan(0, need), out priority);
        }
    }
}
