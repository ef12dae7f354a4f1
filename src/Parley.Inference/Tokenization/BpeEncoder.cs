using System.Runtime.InteropServices;
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

    private struct Symbol
    {
        public int Start, Length, Prev, Next;
    }

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

        var queue = new PriorityQueue<(int Left, int Right, int Size), (int Rank, int Left)>();
        Span<char> key = stackalloc char[256];
        for (int i = 1; i < symbols.Count; i++) TryAdd(word, symbols, queue, i - 1, i, ref key);

        while (queue.TryDequeue(out var bigram, out _))
        {
            var s = CollectionsMarshal.AsSpan(symbols);
            ref var left = ref s[bigram.Left];
            ref var right = ref s[bigram.Right];
            if (left.Length == 0 || right.Length == 0 || left.Length + right.Length != bigram.Size) continue;
            left.Length += right.Length;
            right.Length = 0;
            left.Next = right.Next;
            if (right.Next >= 0) s[right.Next].Prev = bigram.Left;
            TryAdd(word, symbols, queue, left.Prev, bigram.Left, ref key);
            TryAdd(word, symbols, queue, bigram.Left, left.Next, ref key);
        }

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

    private void TryAdd(string word, List<Symbol> symbols, PriorityQueue<(int, int, int), (int, int)> queue, int left, int right, ref Span<char> key)
    {
        if (left == -1 || right == -1) return;
        var l = symbols[left];
        var r = symbols[right];
        int need = l.Length + r.Length + 1;
        if (need > key.Length) key = new char[need * 2];
        word.AsSpan(l.Start, l.Length).CopyTo(key);
        key[l.Length] = ' ';
        word.AsSpan(r.Start, r.Length).CopyTo(key[(l.Length + 1)..]);
        if (_ranks.TryGetValue(key[..need], out int rank)) queue.Enqueue((left, right, l.Length + r.Length), (rank, left));
    }
}
