using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Parley.Inference.Tensors.X86;

/// <summary>
/// Software prefetch for products that stream weights from memory. A four-row
/// tile reads its rows side by side (four places a row apart, each moving a block at a time), a
/// pattern the hardware prefetchers follow poorly: a Q4_K decode pass over Llama-3.2-1B's matrices
/// read 5.5 GB/s from memory on one Zen 4 core, 17 GB/s with this. While a tile works through its
/// blocks, the next four rows (contiguous after this tile's) are requested a slice per block. The
/// multi-token tiles read rows side by side too: <see cref="MatMul"/> requests each row tile's successor
/// in bulk (<see cref="Bulk"/>).
/// </summary>
internal static unsafe class RowPrefetch
{
    /// <summary>The bytes of the next tile to request per block of this one.</summary>
    public static int Span(int rowBytes, int blocks) => SpanOf(4 * rowBytes, blocks);

    /// <summary>The bytes to request per block for <paramref name="bytes"/> spread over <paramref name="blocks"/> blocks.</summary>
    public static int SpanOf(int bytes, int blocks) => (bytes + blocks - 1) / Math.Max(1, blocks);

    /// <summary>Requests <paramref name="bytes"/> from <paramref name="next"/> at once, into L1 (into L2 was slower).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Bulk(byte* next, int bytes)
    {
        if (!Sse.IsSupported) return; // not x86
        for (int o = 0; o < bytes; o += 64) Sse.Prefetch0(next + o);
    }

    /// <summary>Requests slice <paramref name="block"/> of the four rows after the tile at <paramref name="tile"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Next4(byte* tile, int rowBytes, int block, int span) => Slice(tile + 4 * rowBytes, block, span);

    /// <summary>Requests slice <paramref name="block"/>, <paramref name="span"/> bytes long, of what starts at <paramref name="next"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Slice(byte* next, int block, int span)
    {
        next += block * span;
        for (int o = 0; o < span; o += 64) Sse.Prefetch0(next + o);
    }
}
