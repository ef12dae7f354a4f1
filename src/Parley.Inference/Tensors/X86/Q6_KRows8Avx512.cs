using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Parley.Inference.Tensors.X86;

/// <summary>
/// Q6_K, eight rows against four or eight tokens on AVX-512 BW without VNNI, with the rows side by
/// side as in <see cref="Q4_KRows8Avx512"/>: each vector holds eight bytes of each row (the stored
/// ql and qh runs transposed, then assembled into 6-bit quants), maddubs against a token's eight
/// activations broadcast, a sixteen-value sub-block's two vectors added as words
/// (|sum| ≤ 2·2·63·128 = 32256) before one madd by the rows' scales. The −32 offset comes off as
/// 32·Σ scale·bsum in the same lanes. Each (row, token) gets the super-block's whole integer and one
/// FMA by d·d_x: <see cref="Scalar.VecDotScalar.Q6_K"/>'s bits.
/// </summary>
internal static unsafe class Q6_KRows8Avx512
{
    private const int Bytes = Q6_KLayout.Bytes, ScalesOffset = Q6_KLayout.ScalesOffset, DOffset = Q6_KLayout.DOffset;

    public static bool Supported => Avx512BW.IsSupported;

    // Rows in lanes 0, 2, 1, 3, 4, 6, 5, 7 after the transpose (Q4_KRows8Avx512's), an involution.

    public static void Rows8Tokens4(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride) =>
        Rows8<FourTokens>(w, wStride, a, aStride, k, y, yStride);

    public static void Rows8Tokens8(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride) =>
        Rows8<EightTokens>(w, wStride, a, aStride, k, y, yStride);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rows8<TN>(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride) where TN : struct, ITokenCount
    {
        int nb = k / 256, qo = ActivationLayout.QsOffset(DotType.Q8K, k);
        bool eight = TN.Eight;
        byte* a0 = a, a1 = a + aStride, a2 = a + 2 * aStride, a3 = a + 3 * aStride;
        byte* a4 = a + 4 * aStride, a5 = a + 5 * aStride, a6 = a + 6 * aStride, a7 = a + 7 * aStride;
        var first = Vector512.Create(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
        var second = Vector512.Create(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
        var dLanes = Vector512.Create(0, 2, 1, 3, 4, 6, 5, 7, 0, 2, 1, 3, 4, 6, 5, 7);
        Vector512<float> f01 = default, f23 = default, f45 = default, f67 = default;
        var scales = stackalloc Vector512<short>[16];
        var quants = stackalloc Vector512<byte>[16];
        for (int b = 0; b < nb; b++, w += Bytes)
        {
            Scales(w, wStride, scales, out var g0, out var g1, out var g2, out var g3);
            // The offset first: i_t = −32 · Σ scale·bsum, two lanes per row.
            var i0 = -Offset(g0, g1, g2, g3, Bsums(a0, nb, b));
            var i1 = -Offset(g0, g1, g2, g3, Bsums(a1, nb, b));
            var i2 = -Offset(g0, g1, g2, g3, Bsums(a2, nb, b));
            var i3 = -Offset(g0, g1, g2, g3, Bsums(a3, nb, b));
            Vector512<int> i4 = default, i5 = default, i6 = default, i7 = default;
            if (eight)
            {
                i4 = -Offset(g0, g1, g2, g3, Bsums(a4, nb, b));
                i5 = -Offset(g0, g1, g2, g3, Bsums(a5, nb, b));
                i6 = -Offset(g0, g1, g2, g3, Bsums(a6, nb, b));
                i7 = -Offset(g0, g1, g2, g3, Bsums(a7, nb, b));
            }

            for (int j = 0; j < 2; j++)
            {
                Quants(w, wStride, j, quants);
                for (int v = 0; v < 4; v++)
                {
                    var q0 = quants[4 * v];
                    var q1 = quants[4 * v + 1];
                    var q2 = quants[4 * v + 2];
                    var q3 = quants[4 * v + 3];
                    var s0 = scales[8 * j + 2 * v];
                    var s1 = scales[8 * j + 2 * v + 1];
                    int at = qo + 256 * b + 128 * j + 32 * v;
                    i0 += Vector(q0, q1, q2, q3, s0, s1, (sbyte*)(a0 + at));
                    i1 += Vector(q0, q1, q2, q3, s0, s1, (sbyte*)(a1 + at));
                    i2 += Vector(q0, q1, q2, q3, s0, s1, (sbyte*)(a2 + at));
                    i3 += Vector(q0, q1, q2, q3, s0, s1, (sbyte*)(a3 + at));
                    if (!eight) continue;
                    i4 += Vector(q0, q1, q2, q3, s0, s1, (sbyte*)(a4 + at));
                    i5 += Vector(q0, q1, q2, q3, s0, s1, (sbyte*)(a5 + at));
                    i6 += Vector(q0, q1, q2, q3, s0, s1, (sbyte*)(a6 + at));
                    i7 += Vector(q0, q1, q2, q3, s0, s1, (sbyte*)(a7 + at));
                }
            }

            // d of the eight rows in lane order, twice.
            var d = Avx512F.PermuteVar16x32(Fp16.ToFloat(Vector256.Create(*(ushort*)(w + DOffset), *(ushort*)(w + wStride + DOffset),
                *(ushort*)(w + 2 * wStride + DOffset), *(ushort*)(w + 3 * wStride + DOffset), *(ushort*)(w + 4 * wStride + DOffset),
                *(ushort*)(w + 5 * wStride + DOffset), *(ushort*)(w + 6 * wStride + DOffset), *(ushort*)(w + 7 * wStride + DOffset),
                0, 0, 0, 0, 0, 0, 0, 0)), dLanes);
            var dx = Vector128.Create(((float*)a0)[b], ((float*)a1)[b], ((float*)a2)[b], ((float*)a3)[b]).ToVector256Unsafe().ToVector512Unsafe();
            f01 = Step(f01, i0, i1, d * Avx512F.PermuteVar16x32(dx, first));
            f23 = Step(f23, i2, i3, d * Avx512F.PermuteVar16x32(dx, second));
            if (!eight) continue;
            dx = Vector128.Create(((float*)a4)[b], ((float*)a5)[b], ((float*)a6)[b], ((float*)a7)[b]).ToVector256Unsafe().ToVector512Unsafe();
            f45 = Step(f45, i4, i5, d * Avx512F.PermuteVar16x32(dx, first));
            f67 = Step(f67, i6, i7, d * Avx512F.PermuteVar16x32(dx, second));
        }

        Q4_KRows8Avx512.Store(y, yStride, f01, f23);
        if (eight) Q4_KRows8Avx512.Store(y + 4 * yStride, yStride, f45, f67);
    }

    /// <summary>
    /// Half <paramref name="j"/> of eight rows' super-blocks as 6-bit quants, rows side by side:
    /// <paramref name="quants"/>[4v + q] holds bytes 8q..8q+7 of quant vector v (values 32v..32v+31
    /// of the half) of every row: ql's run A (v = 0, 2) or B (1, 3), low nibbles (v &lt; 2) or high,
    /// with qh's pair v as bits 4 and 5.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Quants(byte* w, int stride, int j, Vector512<byte>* quants)
    {
        Q4_KRows8Avx512.Transpose(w + 64 * j, stride, out var a0, out var a1, out var a2, out var a3);
        Q4_KRows8Avx512.Transpose(w + 64 * j + 32, stride, out var b0, out var b1, out var b2, out var b3);
        Q4_KRows8Avx512.Transpose(w + 128 + 32 * j, stride, out var h0, out var h1, out var h2, out var h3);
        Sixes(a0, b0, h0, quants);
        Sixes(a1, b1, h1, quants + 1);
        Sixes(a2, b2, h2, quants + 2);
        Sixes(a3, b3, h3, quants + 3);
    }

    /// <summary>One eight-byte column of the four quant vectors, at q[0], q[4], q[8], q[12].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Sixes(Vector512<byte> a, Vector512<byte> b, Vector512<byte> h, Vector512<byte>* q)
    {
        var m4 = Vector512.Create((byte)0x0F);
        var m30 = Vector512.Create((byte)0x30);
        q[0] = (a & m4) | ((h.AsUInt16() << 4).AsByte() & m30);
        q[4] = (b & m4) | ((h.AsUInt16() << 2).AsByte() & m30);
        q[8] = ((a.AsUInt16() >>> 4).AsByte() & m4) | (h & m30);
        q[12] = ((b.AsUInt16() >>> 4).AsByte() & m4) | ((h.AsUInt16() >>> 2).AsByte() & m30);
    }

    /// <summary>
    /// One token's 32 values of a quant vector (two sub-blocks, each two vectors of eight bytes per
    /// row) against its activations at <paramref name="x"/>, scaled: two int32 lanes per row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Vector(Vector512<byte> q0, Vector512<byte> q1, Vector512<byte> q2, Vector512<byte> q3,
        Vector512<short> s0, Vector512<short> s1, sbyte* x)
    {
        var lo = Avx512BW.MultiplyAddAdjacent(q0, Broadcast8(x)) + Avx512BW.MultiplyAddAdjacent(q1, Broadcast8(x + 8));
        var hi = Avx512BW.MultiplyAddAdjacent(q2, Broadcast8(x + 16)) + Avx512BW.MultiplyAddAdjacent(q3, Broadcast8(x + 24));
        return Avx512BW.MultiplyAddAdjacent(lo, s0) + Avx512BW.MultiplyAddAdjacent(hi, s1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<sbyte> Broadcast8(sbyte* x) => Vector512.Create(*(long*)x).AsSByte();

    /// <summary>
    /// The eight rows' sixteen scales as words in lane order: <paramref name="scales"/>[s] has row r's
    /// scale s in its four words, and <paramref name="g0"/>..<paramref name="g3"/> each row's scales
    /// 4g..4g+3 in its four words (for the offset).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scales(byte* w, int stride, Vector512<short>* scales, out Vector512<short> g0, out Vector512<short> g1, out Vector512<short> g2, out Vector512<short> g3)
    {
        byte* p = w + ScalesOffset;
        var lo = Avx512F.InsertVector128(Avx512F.InsertVector128(Avx512F.InsertVector128(Vector128.Load(p).ToVector256Unsafe().ToVector512Unsafe(),
            Vector128.Load(p + stride), 1), Vector128.Load(p + 2 * stride), 2), Vector128.Load(p + 3 * stride), 3).AsInt32();
        var hi = Avx512F.InsertVector128(Avx512F.InsertVector128(Avx512F.InsertVector128(Vector128.Load(p + 4 * stride).ToVector256Unsafe().ToVector512Unsafe(),
            Vector128.Load(p + 5 * stride), 1), Vector128.Load(p + 6 * stride), 2), Vector128.Load(p + 7 * stride), 3).AsInt32();
        // Dword g of each row (row r's at 4r + g), rows in lane order, then sign-extended to words.
        g0 = Group(lo, hi, 0);
        g1 = Group(lo, hi, 1);
        g2 = Group(lo, hi, 2);
        g3 = Group(lo, hi, 3);
        var pick = Vector512.Create((short)0, 0, 0, 0, 4, 4, 4, 4, 8, 8, 8, 8, 12, 12, 12, 12, 16, 16, 16, 16, 20, 20, 20, 20, 24, 24, 24, 24, 28, 28, 28, 28);
        for (int m = 0; m < 4; m++)
        {
            var at = pick + Vector512.Create((short)m);
            scales[m] = Avx512BW.PermuteVar32x16(g0, at);
            scales[4 + m] = Avx512BW.PermuteVar32x16(g1, at);
            scales[8 + m] = Avx512BW.PermuteVar32x16(g2, at);
            scales[12 + m] = Avx512BW.PermuteVar32x16(g3, at);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> Group(Vector512<int> lo, Vector512<int> hi, int g) =>
        Avx512BW.ConvertToVector512Int16(Avx512F.PermuteVar16x32x2(lo, Vector512.Create(0, 8, 4, 12, 16, 24, 20, 28, 0, 0, 0, 0, 0, 0, 0, 0) + Vector512.Create(g), hi)
            .GetLower().AsSByte());

    /// <summary>32 · Σ scale·bsum of one token, two lanes per row: each group of four scales against the token's four sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Offset(Vector512<short> g0, Vector512<short> g1, Vector512<short> g2, Vector512<short> g3, short* bsums)
    {
        var sum = Avx512BW.MultiplyAddAdjacent(g0, Vector512.Create(*(long*)bsums).AsInt16()) + Avx512BW.MultiplyAddAdjacent(g1, Vector512.Create(*(long*)(bsums + 4)).AsInt16())
            + Avx512BW.MultiplyAddAdjacent(g2, Vector512.Create(*(long*)(bsums + 8)).AsInt16()) + Avx512BW.MultiplyAddAdjacent(g3, Vector512.Create(*(long*)(bsums + 12)).AsInt16());
        return sum << 5;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static short* Bsums(byte* token, int nb, int b) => (short*)(token + 4 * nb) + 16 * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Step(Vector512<float> acc, Vector512<int> t, Vector512<int> u, Vector512<float> scale) =>
        Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Q4_KRows8Avx512.PairSums(t, u)), scale, acc);
}
