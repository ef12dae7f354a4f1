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

    private struct Symbol
    {
        public int Start, Length, Prev, Next;
    }

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
        var queue = new PriorityQueue<(int Left, int Right, int Size), (float Score, int Left)>(
            Comparer<(float Score, int Left)>.Create((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Left.CompareTo(b.Left)));
        var s = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(symbols);
        for (int i = 1; i < symbols.Count; i++) TryAdd(text, symbols, queue, i - 1, i);

        while (queue.TryDequeue(out var bigram, out _))
        {
            s = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(symbols);
            ref var left = ref s[bigram.Left];
            ref var right = ref s[bigram.Right];
            if (left.Length == 0 || right.Length == 0 || left.Length + right.Length != bigram.Size) continue;
            left.Length += right.Length;
            right.Length = 0;
            left.Next = right.Next;
            if (right.Next >= 0) s[right.Next].Prev = bigram.Left;
            TryAdd(text, symbols, queue, left.Prev, bigram.Left);
            TryAdd(text, symbols, queue, bigram.Left, left.Next);
        }

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

    private void TryAdd(string text, List<Symbol> symbols, PriorityQueue<(int, int, int), (float, int)> queue, int left, int right)
    {
        if (left == -1 || right == -1) return;
        var l = symbols[left];
        var r = symbols[right];
        int size = l.Length + r.Length;
        if (!_lookup.TryGetValue(text.AsSpan(l.Start, size), out int id)) return;
        queue.Enqueue((left, right, size), (vocab.Scores[id], left));
    }
}
