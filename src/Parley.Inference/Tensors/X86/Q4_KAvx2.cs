using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static Parley.Inference.Tensors.X86.Q4_KHeader;

namespace Parley.Inference.Tensors.X86;

/// <summary>
/// Q4_K weights against Q8_K activations on AVX2 (no VNNI needed): per 64 values, the low nibbles of
/// 32 bytes (one sub-block) and their high nibbles (the next) each go through maddubs with the
/// activations and madd with their scale, into eight int32 lanes whose sum is the super-block's integer
/// dot. Each (row, token) then takes the steps of <see cref="Q4_KHeader"/>, so every kernel here gives
/// <see cref="VecDotScalar"/>'s bits, as the AVX-512 ones do.
/// </summary>
internal readonly unsafe struct Q4_KAvx2 : IQ4KBlocks
{
    public static bool Supported => Avx2.IsSupported && Fma.IsSupported;

    /// <summary>Scale <paramref name="s"/> (of eight, as int16 in both 128-bit halves) in every word.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Scale(Vector256<byte> scales, int s) =>
        Avx2.Shuffle(scales, Vector256.Create((ushort)(2 * s | (2 * s + 1) << 8)).AsByte()).AsInt16();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Widen(Vector128<byte> scalesMins)
    {
        var words = Sse41.ConvertToVector128Int16(scalesMins).AsByte();
        return Vector256.Create(words, words);
    }

    /// <summary>Sub-blocks 2j and 2j+1 (the 32 bytes' low nibbles, then high) against 64 activations, scaled, in eight lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> PairLanes(Vector256<byte> lo, Vector256<byte> hi, Vector256<short> sLo, Vector256<short> sHi, sbyte* x) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(lo, Vector256.Load(x)), sLo)
        + Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(hi, Vector256.Load(x + 32)), sHi);

    /// <summary>Sub-blocks 2j and 2j+1 of a row: the 32 bytes at j's offset, low nibbles then high, against their 64 activations and scales.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Pair(byte* w, Vector256<byte> scales, sbyte* x, int j)
    {
        var raw = Vector256.Load(w + 16 + 32 * j);
        var m4 = Vector256.Create((byte)0x0F);
        return PairLanes(raw & m4, (raw.AsUInt16() >>> 4).AsByte() & m4, Scale(scales, 2 * j), Scale(scales, 2 * j + 1), x + 64 * j);
    }

    /// <summary>One row's lanes of a super-block against one token's 256 quants.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> BlockLanes(byte* w, Vector256<byte> scales, sbyte* x) =>
        Pair(w, scales, x, 0) + Pair(w, scales, x, 1) + Pair(w, scales, x, 2) + Pair(w, scales, x, 3);

    /// <summary>One row's super-block against one token: its integer dot.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int BlockSum(byte* w, sbyte* x) => Vector256.Sum(BlockLanes(w, Widen(ScalesMins(w)), x));

    /// <summary>Four rows' super-blocks (rows apart by the stride) against one token: their integer dots, rows in lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> BlockSums4(byte* w, int stride, sbyte* x) =>
        VecDot256.RowSums(RowLanes(w, x), RowLanes(w + stride, x), RowLanes(w + 2 * stride, x), RowLanes(w + 3 * stride, x));

    /// <summary>
    /// One row's lanes of a super-block, as a call: with four rows inlined into one tile the JIT kept
    /// most temporaries in the tile's stack frame (1.9 KB; a third of its instructions were stack
    /// accesses, on AVX2's sixteen registers). Called, the row's code touches no stack.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector256<int> RowLanes(byte* w, sbyte* x) => BlockLanes(w, Widen(ScalesMins(w)), x);
}
