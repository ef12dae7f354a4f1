using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Parley.Inference.Tensors;

/// <summary>
/// Eight Q4_K rows against four or eight tokens in the repacked order of <see cref="Q4_KInterleaved"/>,
/// for CPUs with AVX-512 (and AVX-VNNI). Each sub-block's 32 quants of the eight rows are transposed
/// in registers (<see cref="WholeBlockTiles512.Transpose"/>), so that each VPDPBUSD multiplies all
/// eight rows by one token's four activations and a lane ends with its row's whole sub-block dot;
/// times the rows' scales that adds up to the block's integer Σ sc_j·(q·x). The rows' scales and mins
/// are transposed the same way once per block, and the mins' Σ m_j·bsum_j takes four VPDPWSSD per
/// token. The transposition is paid once per block for all the tile's tokens. Integer sums are exact
/// and the float steps those of <see cref="Q4_KInterleaved.Dot"/>, so the bits are its.
/// </summary>
internal static unsafe class Q4_KTiles512
{
    private const int BlockBytes = 144, QsOffset = 16;

    public static bool Supported => WholeBlockTiles512.Supported;

    /// <summary>Eight weight rows (rows apart by the stride) against four activation rows: y[t·yStride + r].</summary>
    public static void Rows8Tokens4(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
    {
        int nb = k / 256, qo = ActivationLayout.QsOffset(DotType.Q8K, k);
        byte* a1 = a + aStride, a2 = a1 + aStride, a3 = a2 + aStride;
        var scales = stackalloc Vector256<int>[8];
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
        Vector256<float> m0 = default, m1 = default, m2 = default, m3 = default;
        for (int b = 0; b < nb; b++)
        {
            byte* wb = w + b * BlockBytes;
            ScalesAndMins(wb, wStride, scales, out var p0, out var p1, out var p2, out var p3);
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
            }

            var d = TileDot256.Scales8(wb, wStride);
            var dmin = TileDot256.Scales8(wb + 2, wStride);
            Step(ref c0, ref m0, t0, p0, p1, p2, p3, d, dmin, a, nb, b);
            Step(ref c1, ref m1, t1, p0, p1, p2, p3, d, dmin, a1, nb, b);
            Step(ref c2, ref m2, t2, p0, p1, p2, p3, d, dmin, a2, nb, b);
            Step(ref c3, ref m3, t3, p0, p1, p2, p3, d, dmin, a3, nb, b);
        }

        (c0 - m0).Store(y);
        (c1 - m1).Store(y + yStride);
        (c2 - m2).Store(y + 2 * yStride);
        (c3 - m3).Store(y + 3 * yStride);
    }

    /// <summary>
    /// Eight weight rows against eight activation rows: y[t·yStride + r]. Eight integer sums and eight
    /// transposed groups fill the registers, so the float sums wait in memory between blocks (the
    /// scaled ones in y, the mins' on the stack).
    /// </summary>
    public static void Rows8Tokens8(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
    {
        int nb = k / 256, qo = ActivationLayout.QsOffset(DotType.Q8K, k);
        byte* a1 = a + aStride, a2 = a1 + aStride, a3 = a2 + aStride, a4 = a3 + aStride, a5 = a4 + aStride, a6 = a5 + aStride, a7 = a6 + aStride;
        var scales = stackalloc Vector256<int>[8];
        var mins = stackalloc Vector256<float>[8];
        for (int t = 0; t < 8; t++)
        {
            Vector256<float>.Zero.Store(y + t * yStride);
            mins[t] = default;
        }

        for (int b = 0; b < nb; b++)
        {
            byte* wb = w + b * BlockBytes;
            ScalesAndMins(wb, wStride, scales, out var p0, out var p1, out var p2, out var p3);
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
            }

            var d = TileDot256.Scales8(wb, wStride);
            var dmin = TileDot256.Scales8(wb + 2, wStride);
            Step(y, mins, t0, p0, p1, p2, p3, d, dmin, a, nb, b);
            Step(y + yStride, mins + 1, t1, p0, p1, p2, p3, d, dmin, a1, nb, b);
            Step(y + 2 * yStride, mins + 2, t2, p0, p1, p2, p3, d, dmin, a2, nb, b);
            Step(y + 3 * yStride, mins + 3, t3, p0, p1, p2, p3, d, dmin, a3, nb, b);
            Step(y + 4 * yStride, mins + 4, t4, p0, p1, p2, p3, d, dmin, a4, nb, b);
            Step(y + 5 * yStride, mins + 5, t5, p0, p1, p2, p3, d, dmin, a5, nb, b);
            Step(y + 6 * yStride, mins + 6, t6, p0, p1, p2, p3, d, dmin, a6, nb, b);
            Step(y + 7 * yStride, mins + 7, t7, p0, p1, p2, p3, d, dmin, a7, nb, b);
        }

        for (int t = 0; t < 8; t++) (Vector256.Load(y + t * yStride) - mins[t]).Store(y + t * yStride);
    }

    /// <summary>The repacked order's two steps for one token: acc += isum·(d·d_x), accMin += imin·(dmin·d_x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step(ref Vector256<float> acc, ref Vector256<float> accMin, Vector256<int> isum,
        Vector256<int> p0, Vector256<int> p1, Vector256<int> p2, Vector256<int> p3, Vector256<float> d, Vector256<float> dmin, byte* a, int nb, int b)
    {
        var dx = Vector256.Create(((float*)a)[b]);
        acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(isum), d * dx, acc);
        accMin = Fma.MultiplyAdd(Avx.ConvertToVector256Single(MinSums(p0, p1, p2, p3, a, nb, b)), dmin * dx, accMin);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step(float* acc, Vector256<float>* accMin, Vector256<int> isum,
        Vector256<int> p0, Vector256<int> p1, Vector256<int> p2, Vector256<int> p3, Vector256<float> d, Vector256<float> dmin, byte* a, int nb, int b)
    {
        var sums = Vector256.Load(acc);
        var mins = *accMin;
        Step(ref sums, ref mins, isum, p0, p1, p2, p3, d, dmin, a, nb, b);
        sums.Store(acc);
        *accMin = mins;
    }

    /// <summary>
    /// The eight rows' Σ m_j·(bsum_2j + bsum_2j+1) for one token: lane r of <c>p{i}</c> holds row r's
    /// mins 2i and 2i+1 as two int16, multiplied with the token's two 32-value sums by VPDPWSSD.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> MinSums(Vector256<int> p0, Vector256<int> p1, Vector256<int> p2, Vector256<int> p3, byte* a, int nb, int b)
    {
        short* bs = (short*)(a + 4 * nb) + 16 * b;
        var sums = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, p0.AsInt16(), Pair(bs));
        sums = AvxVnni.MultiplyWideningAndAdd(sums, p1.AsInt16(), Pair(bs + 4));
        sums = AvxVnni.MultiplyWideningAndAdd(sums, p2.AsInt16(), Pair(bs + 8));
        return AvxVnni.MultiplyWideningAndAdd(sums, p3.AsInt16(), Pair(bs + 12));
    }

    /// <summary>Two sub-blocks' 32-value sums (each two of the 16-value sums at <paramref name="bs"/>) as int16, in every 32-bit lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Pair(short* bs) =>
        Vector256.Create((int)(ushort)(short)(bs[0] + bs[1]) | (bs[2] + bs[3]) << 16).AsInt16();

    /// <summary>
    /// The eight rows' scales as int32 lanes, scales[j] lane r = row r's scale j, and their mins in
    /// pairs: lane r of <paramref name="p0"/>..<paramref name="p3"/> holds row r's mins 2i and 2i+1 as int16.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ScalesAndMins(byte* wb, int s, Vector256<int>* scales,
        out Vector256<int> p0, out Vector256<int> p1, out Vector256<int> p2, out Vector256<int> p3)
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
        p0 = m0.AsInt32();
        p1 = m1.AsInt32();
        p2 = m2.AsInt32();
        p3 = m3.AsInt32();
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
