namespace Parley.Inference.Models;

/// <summary>
/// The cache of one sequence on its own: a <see cref="PagedKvCache"/> with just enough blocks for
/// <see cref="Capacity"/> positions, all in the sequence's table. Used by single-stream generation,
/// the benchmark and the reference tests; the server shares one paged cache among many sequences.
/// </summary>
public sealed class KvCache : IDisposable
{
    public KvCache(ModelConfig c, int capacity, KvCacheTypes? types = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        int blocks = PagedKvCache.BlocksForPositions(capacity);
        Paged = new PagedKvCache(c, blocks, types);
        for (int b = 0; b < blocks; b++) Table.Add(b);
    }

    public PagedKvCache Paged { get; }
    public BlockTable Table { get; } = new();
    public int Capacity { get; }

    /// <summary>Number of positions filled, i.e. the next position to write.</summary>
    public int Length { get; set; }

    public long Bytes => Paged.Bytes;

    /// <summary>What a cache of <paramref name="capacity"/> positions takes, without allocating it.</summary>
    public static long BytesFor(ModelConfig c, int capacity, KvCacheTypes types) =>
        PagedKvCache.BlocksForPositions(Math.Max(1, capacity)) * PagedKvCache.BlockBytes(c, types);

    public void Dispose() => Paged.Dispose();
}
