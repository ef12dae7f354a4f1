using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Parley.Inference.Serving;

/// <summary>
/// The key of a cached KV block: SHA-256 over the previous block's key and this block's token ids, so
/// it names the whole token prefix up to the block's end. A 64-bit hash could be made to collide on
/// purpose and hand one user's cached keys and values to another's different prompt (the class of bug
/// vLLM closed with SHA-256 block hashes); finding two prefixes with one SHA-256 is not feasible.
/// </summary>
public readonly record struct BlockHash(ulong H0, ulong H1, ulong H2, ulong H3)
{
    /// <summary>The key before the first block: the empty prefix.</summary>
    public static BlockHash Empty => default;

    /// <summary>The key of the block holding <paramref name="tokens"/> after the prefix this key names.</summary>
    public BlockHash Chain(ReadOnlySpan<int> tokens)
    {
        Span<byte> input = stackalloc byte[32 + 4 * tokens.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(input, H0);
        BinaryPrimitives.WriteUInt64LittleEndian(input[8..], H1);
        BinaryPrimitives.WriteUInt64LittleEndian(input[16..], H2);
        BinaryPrimitives.WriteUInt64LittleEndian(input[24..], H3);
        for (int i = 0; i < tokens.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(input[(32 + 4 * i)..], tokens[i]);
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(input, digest);
        return new BlockHash(BinaryPrimitives.ReadUInt64LittleEndian(digest), BinaryPrimitives.ReadUInt64LittleEndian(digest[8..]),
            BinaryPrimitives.ReadUInt64LittleEndian(digest[16..]), BinaryPrimitives.ReadUInt64LittleEndian(digest[24..]));
    }
}
