using Parley.Inference.Models;
using Parley.Inference.Serving;

namespace Parley.Inference.Tests;

public class BlockManagerTests
{
    private const int B = PagedKvCache.BlockSize;

    private static int[] Tokens(int seed) => Enumerable.Range(0, B).Select(i => seed * 1000 + i).ToArray();

    /// <summary>A key names the whole prefix: the same block of tokens after different prefixes gets different keys, and the same prefix the same one.</summary>
    [Fact]
    public void KeysNameTheWholePrefix()
    {
        var a = BlockHash.Empty.Chain(Tokens(1));
        var b = BlockHash.Empty.Chain(Tokens(2));
        Assert.NotEqual(a, b);
        Assert.NotEqual(a.Chain(Tokens(3)), b.Chain(Tokens(3)));
        Assert.Equal(a.Chain(Tokens(3)), BlockHash.Empty.Chain(Tokens(1)).Chain(Tokens(3)));
        // Token ids are hashed whole: moving a value between adjacent ids changes the key.
        var shifted = Tokens(1);
        shifted[0] += 1 << 16;
        shifted[1] -= 1;
        Assert.NotEqual(a, BlockHash.Empty.Chain(shifted));
    }

    /// <summary>
    /// A cached block is found only under its own prefix's key and with its own tokens, and a block
    /// evicted for memory is found no more.
    /// </summary>
    [Fact]
    public void CachedBlocksAreFoundOnlyUnderTheirPrefix()
    {
        var blocks = new BlockManager(2);
        int first = blocks.Allocate(), second = blocks.Allocate();
        var root = BlockHash.Empty.Chain(Tokens(1));
        var child = root.Chain(Tokens(2));
        blocks.Register(first, root, Tokens(1));
        blocks.Register(second, child, Tokens(2));
        blocks.Release(first);
        blocks.Release(second);

        Assert.Equal(-1, blocks.Lookup(BlockHash.Empty.Chain(Tokens(2)), Tokens(2))); // the child's tokens without its parent
        Assert.Equal(-1, blocks.Lookup(child, Tokens(3)));                           // the key with other tokens
        Assert.Equal(first, blocks.Lookup(root, Tokens(1)));
        Assert.Equal(second, blocks.Lookup(child, Tokens(2)));
        blocks.Release(first);
        blocks.Release(second);

        // Both cached and unheld: allocating evicts the oldest released (first), whose key then misses.
        Assert.Equal(first, blocks.Allocate());
        Assert.Equal(-1, blocks.Lookup(root, Tokens(1)));
        Assert.Equal(second, blocks.Lookup(child, Tokens(2)));
    }
}
