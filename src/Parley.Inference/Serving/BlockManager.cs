using Parley.Inference.Models;

namespace Parley.Inference.Serving;

/// <summary>
/// Hands out the blocks of a <see cref="PagedKvCache"/> with reference counts, and keeps full blocks
/// findable by the SHA-256 of their whole token prefix (<see cref="BlockHash"/>, prefix caching): a block whose last owner
/// finished stays cached until its memory is needed, oldest first, so a chat that re-sends its
/// history or many users with one system prompt skip the prefill of what is already there.
/// Used by the engine thread only.
/// </summary>
public sealed class BlockManager
{
    private const int B = PagedKvCache.BlockSize;

    private readonly int[] _refs;
    private readonly BlockHash[] _hash;
    private readonly int[][] _tokens;
    private readonly Stack<int> _free = new();
    private readonly Dictionary<BlockHash, int> _cached = [];
    // Cached blocks no sequence holds, least recently released first: these are evicted before failing.
    private readonly LinkedList<int> _evictable = new();
    private readonly LinkedListNode<int>?[] _evictNode;

    public BlockManager(int blocks)
    {
        Total = blocks;
        _refs = new int[blocks];
        _hash = new BlockHash[blocks];
        _tokens = new int[blocks][];
        _evictNode = new LinkedListNode<int>?[blocks];
        for (int b = blocks - 1; b >= 0; b--) _free.Push(b);
    }

    public int Total { get; }
    /// <summary>Blocks that can be allocated now: free ones and cached ones nobody holds.</summary>
    public int Available => _free.Count + _evictable.Count;
    /// <summary>Blocks held by at least one sequence.</summary>
    public int Used => Total - Available;

    /// <summary>A block for new positions, or -1 when every block is held by a sequence.</summary>
    public int Allocate()
    {
        int b;
        if (_free.Count > 0) b = _free.Pop();
        else if (_evictable.First is { } oldest)
        {
            b = oldest.Value;
            _evictable.RemoveFirst();
            _evictNode[b] = null;
            _cached.Remove(_hash[b]);
            _tokens[b] = null!;
        }
        else return -1;

        _refs[b] = 1;
        return b;
    }

    /// <summary>Drops one reference; an unreferenced block stays cached if it is registered, else it is free.</summary>
    public void Release(int block)
    {
        if (_refs[block] <= 0) throw new InvalidOperationException($"block {block} released more often than it was taken");
        if (--_refs[block] > 0) return;
        if (_tokens[block] is not null) _evictNode[block] = _evictable.AddLast(block);
        else _free.Push(block);
    }

    public void ReleaseAll(BlockTable table)
    {
        foreach (int b in table.AsSpan()) Release(b);
        table.Clear();
    }

    /// <summary>
    /// Takes a reference to the cached block with key <paramref name="hash"/>, which holds
    /// <paramref name="tokens"/> (checked too); returns it, or -1 on a miss.
    /// </summary>
    public int Lookup(BlockHash hash, ReadOnlySpan<int> tokens)
    {
        if (_cached.TryGetValue(hash, out int b) && _tokens[b] is { } held && held.AsSpan().SequenceEqual(tokens))
        {
            if (_refs[b]++ == 0 && _evictNode[b] is { } node)
            {
                _evictable.Remove(node);
                _evictNode[b] = null;
            }

            return b;
        }

        return -1;
    }

    /// <summary>Makes a full block that a sequence computed findable; a prefix already cached keeps its block.</summary>
    public void Register(int block, BlockHash hash, ReadOnlySpan<int> tokens)
    {
        if (tokens.Length != B) throw new ArgumentException($"only full blocks of {B} tokens are cached", nameof(tokens));
        if (_tokens[block] is not null || !_cached.TryAdd(hash, block)) return;
        _hash[block] = hash;
        _tokens[block] = tokens.ToArray();
    }
}
