using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Parley.Inference.Tensors;

/// <summary>
/// Eight Q4_K rows against four or eight tokens in either repacked order of <see cref="Q4_KInterleaved"/>,
/// for CPUs with AVX-512 (and AVX-VNNI). Each sub-block's 32 quants of the eight rows are transposed
/// in registers (<see cref="WholeBlockTiles512.Transpose"/>), so that each VPDPBUSD multiplies all
/// eight rows by one token's four activations and a lane ends with its row's whole sub-block dot;
/// times the rows' scales that adds up to the block's integer Σ sc_j·(q·x). The rows' scales and mins
/// are transposed the same way once per block, and the mins' Σ m_j·bsum_j takes four VPDPWSSD per
/// token. The transposition is paid once per block for all the tile's tokens. Integer sums are exact
/// and the float steps those of <see cref="Q4_KInterleaved.Dot"/> or <see cref="Q4_KInterleaved.GemmDot"/>, so the bits are theirs.
/// </summary>
internal static unsafe class Q4_KTiles512
{
    private const int BlockBytes = 144, QsOffset = 16;

    public static bool Supported => WholeBlockTiles512.Supported;

    /// <summary>Eight weight rows (rows apart by the stride) against four activation rows: y[t·yStride + r].</summary>
    public static void Rows8Tokens4<TO>(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride) where TO : struct, IQ4KOrder
    {
        int nb = k / 256, qo = ActivationLayout.QsOffset(DotType.Q8K, k);
        byte* a1 = a + aStride, a2 = a1 + aStride, a3 = a2 + aStride;
        var scales = stackalloc Vector256<int>[8];
        var pairs = stackalloc Vector256<int>[4];
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
        Vector256<float> m0 = default, m1 = default, m2 = default, m3 = default;
        for (int b = 0; b < nb; b++)
        {
            byte* wb = w + b * BlockBytes;
            ScalesAndMins(wb, wStride, scales, pairs);
            var d = TileDot256.Scales8(wb, wStride);
            var dmin = TileDot256.Scales8(wb + 2, wStride);
            Vector256<int> t0 = default, t1 = default, t2 = default, t3 = default;
            for (int s = 0; s < 8; s++)
            {
                Quants(wb, wStride, s, out var g0, out var g1, out var g2, out var g3, out var g4, out var g5, out var g6, out var g7);
                int at = qo + 256 * b + 32 * s;
                var sc = scales[s];
                t0 += Sums(g0, g1, g2, g3, g4, g5, g6, g7, a + at, sc);
                t1 += Sums(g0, g1, g2, g3, g4, g5, g6, g7, a1 + at, sc);
                t2 += Sums(g0, g1, g2, g3, g4, g5, g6, g7, a2 + at, sc);
                t3 += Sums(g0, g1, g2, g3, g4, g5, g6, g7, a3 + at, sc);
                if (!Flush<TO>(s)) continue;
                Step(ref c0, t0, d, a, b);
                Step(ref c1, t1, d, a1, b);
                Step(ref c2, t2, d, a2, b);
                Step(ref c3, t3, d, a3, b);
                t0 = t1 = t2 = t3 = default;
            }

            MinSteps<TO>(ref m0, pairs, dmin, a, nb, b);
            MinSteps<TO>(ref m1, pairs, dmin, a1, nb, b);
            MinSteps<TO>(ref m2, pairs, dmin, a2, nb, b);
            MinSteps<TO>(ref m3, pairs, dmin, a3, nb, b);
        }

        (c0 - m0).Store(y);
        (c1 - m1).Store(y + yStride);
        (c2 - m2).Store(y + 2 * yStride);
        (c3 - m3).Store(y + 3 * yStride);
    }

    /// <summary>
    /// Eight weight rows against eight activation rows: y[t·yStride + r]. The scaled float sums of two
    /// tokens share a 512-bit register and stay there beside the eight integer sums and the eight
    /// transposed groups; the mins' sums wait on the stack between blocks.
    /// </summary>
    public static void Rows8Tokens8<TO>(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride) where TO : struct, IQ4KOrder
    {
        int nb = k / 256, qo = ActivationLayout.QsOffset(DotType.Q8K, k);
        byte* a1 = a + aStride, a2 = a1 + aStride, a3 = a2 + aStride, a4 = a3 + aStride, a5 = a4 + aStride, a6 = a5 + aStride, a7 = a6 + aStride;
        var scales = stackalloc Vector256<int>[8];
        var pairs = stackalloc Vector256<int>[4];
        var mins = stackalloc Vector256<float>[8];
        for (int t = 0; t < 8; t++) mins[t] = default;
        // Two tokens' scaled sums to a 512-bit register: half the conversions and FMAs, and registers to spare.
        Vector512<float> c01 = default, c23 = default, c45 = default, c67 = default;
        for (int b = 0; b < nb; b++)
        {
            byte* wb = w + b * BlockBytes;
            ScalesAndMins(wb, wStride, scales, pairs);
            var d = TileDot256.Scales8(wb, wStride);
            var dmin = TileDot256.Scales8(wb + 2, wStride);
            var dd = Vector512.Create(d, d);
            Vector256<int> t0 = default, t1 = default, t2 = default, t3 = default, t4 = default, t5 = default, t6 = default, t7 = default;
            for (int s = 0; s < 8; s++)
            {
                Quants(wb, wStride, s, out var g0, out var g1, out var g2, out var g3, out var g4, out var g5, out var g6, out var g7);
                int at = qo + 256 * b + 32 * s;
                var sc = scales[s];
                t0 += Sums(g0, g1, g2, g3, g4, g5, g6, g7, a + at, sc);
                t1 += Sums(g0, g1, g2, g3, g4, g5, g6, g7, a1 + at, sc);
                t2 += Sums(g0, g1, g2, g3, g4, g5, g6, g7, a2 + at, sc);
                t3 += Sums(g0, g1, g2, g3, g4, g5, g6, g7, a3 + at, sc);
                t4 += Sums(g0, g1, g2, g3, g4, g5, g6, g7, a4 + at, sc);
                t5 += Sums(g0, g1, g2, g3, g4, g5, g6, g7, a5 + at, sc);
                t6 += Sums(g0, g1, g2, g3, g4, g5, g6, g7, a6 + at, sc);
                t7 += Sums(g0, g1, g2, g3, g4, g5, g6, g7, a7 + at, sc);
                if (!Flush<TO>(s)) continue;
                Step2(ref c01, t0, t1, dd, a, a1, b);
                Step2(ref c23, t2, t3, dd, a2, a3, b);
                Step2(ref c45, t4, t5, dd, a4, a5, b);
                Step2(ref c67, t6, t7, dd, a6, a7, b);
                t0 = t1 = t2 = t3 = t4 = t5 = t6 = t7 = default;
            }

            MinSteps<TO>(ref mins[0], pairs, dmin, a, nb, b);
            MinSteps<TO>(ref mins[1], pairs, dmin, a1, nb, b);
            MinSteps<TO>(ref mins[2], pairs, dmin, a2, nb, b);
            MinSteps<TO>(ref mins[3], pairs, dmin, a3, nb, b);
            MinSteps<TO>(ref mins[4], pairs, dmin, a4, nb, b);
            MinSteps<TO>(ref mins[5], pairs, dmin, a5, nb, b);
            MinSteps<TO>(ref mins[6], pairs, dmin, a6, nb, b);
            MinSteps<TO>(ref mins[7], pairs, dmin, a7, nb, b);
        }

        (c01.GetLower() - mins[0]).Store(y);
        (c01.GetUpper() - mins[1]).Store(y + yStride);
        (c23.GetLower() - mins[2]).Store(y + 2 * yStride);
        (c23.GetUpper() - mins[3]).Store(y + 3 * yStride);
        (c45.GetLower() - mins[4]).Store(y + 4 * yStride);
        (c45.GetUpper() - mins[5]).Store(y + 5 * yStride);
        (c67.GetLower() - mins[6]).Store(y + 6 * yStride);
        (c67.GetUpper() - mins[7]).Store(y + 7 * yStride);
    }

    /// <summary><see cref="Step(ref Vector256{float}, Vector256{int}, Vector256{float}, byte*, int)"/> for two tokens at once, the first in the lower half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step2(ref Vector512<float> acc, Vector256<int> isumA, Vector256<int> isumB, Vector512<float> dd, byte* a, byte* b2, int b)
    {
        var dx = Vector512.Create(Vector256.Create(((float*)a)[b]), Vector256.Create(((float*)b2)[b]));
        acc = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Vector512.Create(isumA, isumB)), dd * dx, acc);
    }

    /// <summary>Whether sub-block <paramref name="s"/> ends a step: each second one in the gemm order, the last one in the gemv order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Flush<TO>(int s) where TO : struct, IQ4KOrder => TO.PerPair ? (s & 1) == 1 : s == 7;

    /// <summary>One step of a token's scaled sums: acc += isum·(d·d_x). The mins' steps run apart (<see cref="MinSteps{TO}"/>): the two sums never meet until the end.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step(ref Vector256<float> acc, Vector256<int> isum, Vector256<float> d, byte* a, int b) =>
        acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(isum), d * Vector256.Create(((float*)a)[b]), acc);

    /// <summary>
    /// A block's steps of a token's mins, accMin += imin·(dmin·d_x): one per pair of sub-blocks in the
    /// gemm order, one for the block in the gemv order. imin is Σ m_j·(bsum_2j + bsum_2j+1): lane r of
    /// pairs[i] holds row r's mins 2i and 2i+1 as two int16, multiplied with the token's two 32-value
    /// sums by VPDPWSSD.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MinSteps<TO>(ref Vector256<float> accMin, Vector256<int>* pairs, Vector256<float> dmin, byte* a, int nb, int b)
        where TO : struct, IQ4KOrder
    {
        short* bs = (short*)(a + 4 * nb) + 16 * b;
        var dm = dmin * Vector256.Create(((float*)a)[b]);
        var m0 = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, pairs[0].AsInt16(), Pair(bs));
        var m1 = AvxVnni.MultiplyWideningAndAdd(TO.PerPair ? Vector256<int>.Zero : m0, pairs[1].AsInt16(), Pair(bs + 4));
        var m2 = AvxVnni.MultiplyWideningAndAdd(TO.PerPair ? Vector256<int>.Zero : m1, pairs[2].AsInt16(), Pair(bs + 8));
        var m3 = AvxVnni.MultiplyWideningAndAdd(TO.PerPair ? Vector256<int>.Zero : m2, pairs[3].AsInt16(), Pair(bs + 12));
        if (TO.PerPair)
        {
            accMin = Fma.MultiplyAdd(Avx.ConvertToVector256Single(m0), dm, accMin);
            accMin = Fma.MultiplyAdd(Avx.ConvertToVector256Single(m1), dm, accMin);
            accMin = Fma.MultiplyAdd(Avx.ConvertToVector256Single(m2), dm, accMin);
        }

        accMin = Fma.MultiplyAdd(Avx.ConvertToVector256Single(m3), dm, accMin);
    }

    /// <summary>Two sub-blocks' 32-value sums (each two of the 16-value sums at <paramref name="bs"/>) as int16, in every 32-bit lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Pair(short* bs) =>
        Vector256.Create((int)(ushort)(short)(bs[0] + bs[1]) | (bs[2] + bs[3]) << 16).AsInt16();

    /// <summary>
    /// The eight rows' scales as int32 lanes, scales[j] lane r = row r's scale j, and their mins in
    /// pairs: lane r of pairs[i] holds row r's mins 2i and 2i+1 as int16.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ScalesAndMins(byte* wb, int s, Vector256<int>* scales, Vector256<int>* pairs)
    {
        // Each row's 16 int16 (scales 0..7, mins 0..7) are eight 32-bit pairs: transposed like quants.
        WholeBlockTiles512.Transpose(VecDotK256.ScalesAndMins(wb).AsByte(), VecDotK256.ScalesAndMins(wb + s).AsByte(),
            VecDotK256.ScalesAndMins(wb + 2 * s).AsByte(), VecDotK256.ScalesAndMins(wb + 3 * s).AsByte(),
            VecDotK256.ScalesAndMins(wb + 4 * s).AsByte(), VecDotK256.ScalesAndMins(wb + 5 * s).AsByte(),
            VecDotK256.ScalesAndMins(wb + 6 * s).AsByte(), VecDotK256.ScalesAndMins(wb + 7 * s).AsByte(),
            out var s01, out var s23, out var s45, out var s67, out var m0, out var m1, out var m2, out var m3);
        Split(s01.AsInt32(), scales);
        Split(s23.AsInt32(), scales + 2);
        Split(s45.AsInt32(), scales + 4);
        Split(s67.AsInt32(), scales + 6);
        pairs[0] = m0.AsInt32();
        pairs[1] = m1.AsInt32();
        pairs[2] = m2.AsInt32();
        pairs[3] = m3.AsInt32();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Split(Vector256<int> pair, Vector256<int>* to)
    {
        to[0] = (pair << 16) >> 16;
        to[1] = pair >> 16;
    }

    /// <summary>Sub-block <paramref name="s"/> (quants 32s..32s+31) of eight rows' blocks, transposed: nibble s%2 of qs[32·(s/2)..].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Quants(byte* wb, int stride, int s,
        out Vector256<byte> g0, out Vector256<byte> g1, out Vector256<byte> g2, out Vector256<byte> g3,
        out Vector256<byte> g4, out Vector256<byte> g5, out Vector256<byte> g6, out Vector256<byte> g7)
    {
        int at = QsOffset + 32 * (s >> 1), shift = 4 * (s & 1);
        WholeBlockTiles512.Transpose(Nibbles(wb + at, shift), Nibbles(wb + stride + at, shift),
            Nibbles(wb + 2 * stride + at, shift), Nibbles(wb + 3 * stride + at, shift),
            Nibbles(wb + 4 * stride + at, shift), Nibbles(wb + 5 * stride + at, shift),
            Nibbles(wb + 6 * stride + at, shift), Nibbles(wb + 7 * stride + at, shift),
            out g0, out g1, out g2, out g3, out g4, out g5, out g6, out g7);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Nibbles(byte* q, int shift) =>
        (Vector256.Load(q).AsUInt16() >>> shift).AsByte() & Vector256.Create((byte)0x0F);

    /// <summary>The eight rows' sub-block dot with one token's 32 activations at <paramref name="x"/>, times their scales.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Sums(Vector256<byte> g0, Vector256<byte> g1, Vector256<byte> g2, Vector256<byte> g3,
        Vector256<byte> g4, Vector256<byte> g5, Vector256<byte> g6, Vector256<byte> g7, byte* x, Vector256<int> scales)
    {
        WholeBlockTiles512.HalfSums(g0, g1, g2, g3, g4, g5, g6, g7, (int*)x, Vector256<int>.Zero, Vector256<int>.Zero, out var low, out var high);
        return (low + high) * scales;
    }
}
