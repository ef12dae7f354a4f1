using System.Runtime.InteropServices;

namespace Parley.Inference.Tokenization;

/// <summary>A run of text in a merge: where it starts, how long it is, and its live neighbours (-1 at the ends).</summary>
internal struct Symbol
{
    public int Start, Length, Prev, Next;
}

/// <summary>Decides whether two adjacent runs of the text merge, and with what priority.</summary>
internal interface IPairRanker<TPriority>
{
    bool TryRank(ReadOnlySpan<char> left, ReadOnlySpan<char> right, out TPriority priority);
}

/// <summary>
/// The merge loop both encoders share, as llama.cpp's tokenizer sessions run it: symbols form a
/// linked list over the text, candidate pairs wait in a priority queue (best first, leftmost on
/// ties), the best pair merges, entries made stale by an earlier merge are skipped, and the merged
/// symbol's new neighbours become candidates.
/// </summary>
internal static class SymbolMerger
{
    /// <summary>Merges <paramref name="symbols"/> (single characters, linked in order) in place; walk the result from index 0 along Next.</summary>
    public static void Merge<TPriority, TRanker>(string text, List<Symbol> symbols, IComparer<TPriority> order, ref TRanker ranker)
        where TRanker : struct, IPairRanker<TPriority>
    {
        var queue = new PriorityQueue<(int Left, int Right, int Size), (TPriority Priority, int Left)>(
            Comparer<(TPriority Priority, int Left)>.Create((a, b) =>
            {
                int c = order.Compare(a.Priority, b.Priority);
                return c != 0 ? c : a.Left.CompareTo(b.Left);
            }));
        for (int i = 1; i < symbols.Count; i++) TryAdd(text, symbols, queue, i - 1, i, ref ranker);

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
            TryAdd(text, symbols, queue, left.Prev, bigram.Left, ref ranker);
            TryAdd(text, symbols, queue, bigram.Left, left.Next, ref ranker);
        }
    }

    private static void TryAdd<TPriority, TRanker>(string text, List<Symbol> symbols, PriorityQueue<(int, int, int), (TPriority, int)> queue, int left, int right, ref TRanker ranker)
        where TRanker : struct, IPairRanker<TPriority>
    {
        if (left == -1 || right == -1) return;
        var l = symbols[left];
        var r = symbols[right];
        if (ranker.TryRank(text.AsSpan(l.Start, l.Length), text.AsSpan(r.Start, r.Length), out var priority))
        {
            queue.Enqueue((left, right, l.Length + r.Length), (priority, left));
        }
    }
}
