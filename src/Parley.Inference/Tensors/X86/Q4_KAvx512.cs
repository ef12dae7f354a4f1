using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static Parley.Inference.Tensors.X86.Q4_KHeader;

namespace Parley.Inference.Tensors.X86;

/// <summary>
/// Q4_K weights against Q8_K activations on AVX-512 BW, without VNNI (which .NET exposes only in
/// its 256-bit AVX-VNNI form, absent on AMD Zen 4 and on Intel servers before Sapphire Rapids). A
/// super-block's 256 quants are four vectors of 64, each two sub-blocks (a 32-byte run's low nibbles,
/// then its high nibbles, in value order); maddubs with the activations and madd with the
/// sub-blocks' scales leave sixteen int32 lanes, whose sum is the super-block's integer dot. Each
/// (row, token) then takes the steps of <see cref="Q4_KHeader"/>, so every kernel here gives
/// <see cref="VecDotScalar"/>'s bits.
/// </summary>
internal readonly unsafe struct Q4_KAvx512 : IQ4KBlocks
{
    public static bool Supported => Avx512BW.IsSupported;

    /// <summary>The 64 quants of sub-blocks 2j and 2j+1, in value order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> Quants(byte* w, int j)
    {
        var v = Vector256.Load((ulong*)(w + 16 + 32 * j)).ToVector512Unsafe();
        var twice = Avx512F.Shuffle4x128(v, v, 0b01_00_01_00).AsUInt16();
        var shifts = Vector512.Create((ushort)0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4);
        return Avx512BW.ShiftRightLogicalVariable(twice, shifts).AsByte() & Vector512.Create((byte)0x0F);
    }

    /// <summary>Scales 2j (for the first 32 values' words) and 2j+1, from the scales widened to words.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> PairScales(Vector512<short> scales, int j) => Avx512BW.PermuteVar32x16(scales,
        Vector512.Create((short)0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1) + Vector512.Create((short)(2 * j)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> Widen(Vector128<byte> scalesMins) => Avx2.ConvertToVector256Int16(scalesMins).ToVector512Unsafe();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Lanes(Vector512<byte> q, Vector512<short> s, sbyte* x) =>
        Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(q, Vector512.Load(x)), s);

    /// <summary>One row's lanes of a super-block against one token's 256 quants.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> BlockLanes(byte* w, sbyte* x)
    {
        var scales = Widen(ScalesMins(w));
        return Lanes(Quants(w, 0), PairScales(scales, 0), x) + Lanes(Quants(w, 1), PairScales(scales, 1), x + 64)
            + Lanes(Quants(w, 2), PairScales(scales, 2), x + 128) + Lanes(Quants(w, 3), PairScales(scales, 3), x + 192);
    }

    /// <summary>The whole sums of four vectors of sixteen int32 lanes (integers: any order is exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Sums(Vector512<int> v0, Vector512<int> v1, Vector512<int> v2, Vector512<int> v3) =>
        VecDot256.RowSums(v0.GetLower() + v0.GetUpper(), v1.GetLower() + v1.GetUpper(), v2.GetLower() + v2.GetUpper(), v3.GetLower() + v3.GetUpper());

    /// <summary>One row's super-block against one token: its integer dot.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int BlockSum(byte* w, sbyte* x) => Vector512.Sum(BlockLanes(w, x));

    /// <summary>Four rows' super-blocks (rows apart by the stride) against one token: their integer dots, rows in lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> BlockSums4(byte* w, int stride, sbyte* x) =>
        Sums(BlockLanes(w, x), BlockLanes(w + stride, x), BlockLanes(w + 2 * stride, x), BlockLanes(w + 3 * stride, x));
}
