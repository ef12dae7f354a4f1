namespace Parley.Inference.Models;

/// <summary>
/// The tokens of one forward pass, grouped by sequence: each segment is a run of consecutive
/// positions of one sequence (a prefill chunk or a single decode token) with the block table that
/// holds its keys and values. All segments share the weight products; attention stays per segment.
/// </summary>
public sealed class ForwardBatch
{
    private readonly List<int> _tokens = [];
    private readonly List<BatchSegment> _segments = [];

    public int TokenCount => _tokens.Count;
    public IReadOnlyList<BatchSegment> Segments => _segments;
    /// <summary>Rows of logits the pass writes: one per segment that asked for them, in segment order.</summary>
    public int LogitRows { get; private set; }
    internal List<int> Tokens => _tokens;

    /// <summary>
    /// Adds <paramref name="tokens"/> at positions <paramref name="start"/>.. of the sequence whose
    /// blocks are <paramref name="table"/> (it must already cover every one of those positions); with
    /// <paramref name="logits"/> the last token's logits are returned. Returns that logits row, or -1.
    /// </summary>
    public int Add(ReadOnlySpan<int> tokens, int start, BlockTable table, bool logits)
    {
        if (tokens.Length == 0) throw new ArgumentException("a segment needs at least one token", nameof(tokens));
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        if (start + tokens.Length > table.Capacity)
        {
            throw new ArgumentException($"positions up to {start + tokens.Length - 1} do not fit the {table.Count} blocks of the sequence");
        }

        int row = logits ? LogitRows++ : -1;
        _segments.Add(new BatchSegment(_tokens.Count, tokens.Length, start, table, row));
        foreach (int t in tokens) _tokens.Add(t);
        return row;
    }

    public void Clear()
    {
        _tokens.Clear();
        _segments.Clear();
        LogitRows = 0;
    }
}

/// <summary>Tokens First..First+Count-1 of a batch sit at positions Start.. of the sequence in Table.</summary>
public readonly record struct BatchSegment(int First, int Count, int Start, BlockTable Table, int LogitRow)
{
    /// <summary>Keys the segment's last token attends to.</summary>
    public int Keys => Start + Count;
}
