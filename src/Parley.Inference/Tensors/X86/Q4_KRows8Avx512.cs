using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Parley.Inference.Tensors.X86;

/// <summary>
/// Q4_K, eight rows against four tokens on AVX-512 BW, with the rows side by side in each vector:
/// eight bytes of each row (rows in a fixed lane order), so that maddubs against a
/// token's eight activations broadcast leaves each row's products in its own four words. A sub-block's
/// 32 values are four such vectors, whose words add (|sum| ≤ 4·2·15·128 = 15360) before one madd by
/// the rows' scales: a madd per four maddubs, where the row-major kernels (<see cref="Q4_KAvx512"/>)
/// need one per maddubs, and without VNNI (absent from .NET on AMD Zen 4) the multiplies are what
/// bound the product. The stored rows are transposed here, eight bytes at a time, once for the four
/// tokens. Integer sums are exact, so each (row, token) takes <see cref="Q4_KHeader"/>'s steps in
/// either of llama.cpp's orders (<see cref="IQ4KOrder"/>) and gives <see cref="VecDotScalar"/>'s bits.
/// </summary>
internal static unsafe class Q4_KRows8Avx512
{
    public static bool Supported => Avx512BW.IsSupported;

    // After the transpose (unpack, then 128-bit shuffles) the eight lanes hold rows 0, 2, 1, 3, 4, 6, 5, 7:
    // an involution, so the same indices put results back in row order. The index vectors below spell it out.

    /// <summary>Eight rows against four tokens in <typeparamref name="TO"/>'s order.</summary>
    public static void Rows8Tokens4<TO>(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride) where TO : struct, IQ4KOrder =>
        Rows8<TO, FourTokens>(w, wStride, a, aStride, k, y, yStride);

    /// <summary>Eight rows against eight tokens in <typeparamref name="TO"/>'s order: the transposed rows serve twice the tokens.</summary>
    public static void Rows8Tokens8<TO>(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride) where TO : struct, IQ4KOrder =>
        Rows8<TO, EightTokens>(w, wStride, a, aStride, k, y, yStride);

    /// <summary>Eight rows against four or eight tokens (<typeparamref name="TN"/>); the second four's code folds away for four.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rows8<TO, TN>(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
        where TO : struct, IQ4KOrder where TN : struct, ITokenCount
    {
        int nb = k / 256, qo = ActivationLayout.QsOffset(DotType.Q8K, k);
        bool eight = TN.Eight;
        byte* a0 = a, a1 = a + aStride, a2 = a + 2 * aStride, a3 = a + 3 * aStride;
        byte* a4 = a + 4 * aStride, a5 = a + 5 * aStride, a6 = a + 6 * aStride, a7 = a + 7 * aStride;
        // Float lanes: token 0 (2, 4, 6) rows in lane order, then token 1 (3, 5, 7); d and dmin from [d0, dmin0, d1, …].
        var dIndex = Vector512.Create(0, 4, 2, 6, 8, 12, 10, 14, 0, 4, 2, 6, 8, 12, 10, 14);
        var dminIndex = Vector512.Create(1, 5, 3, 7, 9, 13, 11, 15, 1, 5, 3, 7, 9, 13, 11, 15);
        var first = Vector512.Create(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
        var second = Vector512.Create(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
        // Scale words: lane group i (four words) takes its row r's scale s, word 8r + s of [rows 0-3 | rows 4-7].
        var scaleIndex = Vector512.Create((short)0, 0, 0, 0, 16, 16, 16, 16, 8, 8, 8, 8, 24, 24, 24, 24,
            32, 32, 32, 32, 48, 48, 48, 48, 40, 40, 40, 40, 56, 56, 56, 56);
        Vector512<float> f01 = default, f23 = default, m01 = default, m23 = default;
        Vector512<float> f45 = default, f67 = default, m45 = default, m67 = default;
        for (int b = 0; b < nb; b++, w += Q4_KHeader.Bytes)
        {
            sbyte* x0 = (sbyte*)(a0 + qo) + 256 * b, x1 = (sbyte*)(a1 + qo) + 256 * b, x2 = (sbyte*)(a2 + qo) + 256 * b, x3 = (sbyte*)(a3 + qo) + 256 * b;
            sbyte* x4 = (sbyte*)(a4 + qo) + 256 * b, x5 = (sbyte*)(a5 + qo) + 256 * b, x6 = (sbyte*)(a6 + qo) + 256 * b, x7 = (sbyte*)(a7 + qo) + 256 * b;
            Words(w, wStride, out var scalesLo, out var minsLo);
            Words(w + 4 * wStride, wStride, out var scalesHi, out var minsHi);
            var dd = Halves8(w, wStride);
            var d = Avx512F.PermuteVar16x32(dd, dIndex);
            var dx = Vector128.Create(((float*)a0)[b], ((float*)a1)[b], ((float*)a2)[b], ((float*)a3)[b]).ToVector256Unsafe().ToVector512Unsafe();
            var dx01 = Avx512F.PermuteVar16x32(dx, first);
            var dx23 = Avx512F.PermuteVar16x32(dx, second);
            var sd01 = d * dx01;
            var sd23 = d * dx23;
            Vector512<float> dx45 = default, dx67 = default, sd45 = default, sd67 = default;
            if (eight)
            {
                dx = Vector128.Create(((float*)a4)[b], ((float*)a5)[b], ((float*)a6)[b], ((float*)a7)[b]).ToVector256Unsafe().ToVector512Unsafe();
                dx45 = Avx512F.PermuteVar16x32(dx, first);
                dx67 = Avx512F.PermuteVar16x32(dx, second);
                sd45 = d * dx45;
                sd67 = d * dx67;
            }

            Vector512<int> i0 = default, i1 = default, i2 = default, i3 = default, i4 = default, i5 = default, i6 = default, i7 = default;
            for (int j = 0; j < 4; j++)
            {
                Transpose(w + 16 + 32 * j, wStride, out var q0, out var q1, out var q2, out var q3);
                var m4 = Vector512.Create((byte)0x0F);
                var l0 = q0 & m4;
                var l1 = q1 & m4;
                var l2 = q2 & m4;
                var l3 = q3 & m4;
                var h0 = (q0.AsUInt16() >>> 4).AsByte() & m4;
                var h1 = (q1.AsUInt16() >>> 4).AsByte() & m4;
                var h2 = (q2.AsUInt16() >>> 4).AsByte() & m4;
                var h3 = (q3.AsUInt16() >>> 4).AsByte() & m4;
                var sLo = Avx512BW.PermuteVar32x16x2(scalesLo, scaleIndex + Vector512.Create((short)(2 * j)), scalesHi);
                var sHi = Avx512BW.PermuteVar32x16x2(scalesLo, scaleIndex + Vector512.Create((short)(2 * j + 1)), scalesHi);
                int at = 64 * j;
                i0 += SubBlocks(l0, l1, l2, l3, h0, h1, h2, h3, sLo, sHi, x0 + at);
                i1 += SubBlocks(l0, l1, l2, l3, h0, h1, h2, h3, sLo, sHi, x1 + at);
                i2 += SubBlocks(l0, l1, l2, l3, h0, h1, h2, h3, sLo, sHi, x2 + at);
                i3 += SubBlocks(l0, l1, l2, l3, h0, h1, h2, h3, sLo, sHi, x3 + at);
                if (eight)
                {
                    i4 += SubBlocks(l0, l1, l2, l3, h0, h1, h2, h3, sLo, sHi, x4 + at);
                    i5 += SubBlocks(l0, l1, l2, l3, h0, h1, h2, h3, sLo, sHi, x5 + at);
                    i6 += SubBlocks(l0, l1, l2, l3, h0, h1, h2, h3, sLo, sHi, x6 + at);
                    i7 += SubBlocks(l0, l1, l2, l3, h0, h1, h2, h3, sLo, sHi, x7 + at);
                }

                if (!TO.PerPair) continue;
                f01 = Step(f01, i0, i1, sd01);
                f23 = Step(f23, i2, i3, sd23);
                i0 = i1 = i2 = i3 = default;
                if (!eight) continue;
                f45 = Step(f45, i4, i5, sd45);
                f67 = Step(f67, i6, i7, sd67);
                i4 = i5 = i6 = i7 = default;
            }

            if (!TO.PerPair)
            {
                f01 = Step(f01, i0, i1, sd01);
                f23 = Step(f23, i2, i3, sd23);
                if (eight)
                {
                    f45 = Step(f45, i4, i5, sd45);
                    f67 = Step(f67, i6, i7, sd67);
                }
            }

            var dmin = Avx512F.PermuteVar16x32(dd, dminIndex);
            m01 = MinSteps<TO>(m01, minsLo, minsHi, Bsums(a0, nb, b), Bsums(a1, nb, b), dmin * dx01);
            m23 = MinSteps<TO>(m23, minsLo, minsHi, Bsums(a2, nb, b), Bsums(a3, nb, b), dmin * dx23);
            if (eight)
            {
                m45 = MinSteps<TO>(m45, minsLo, minsHi, Bsums(a4, nb, b), Bsums(a5, nb, b), dmin * dx45);
                m67 = MinSteps<TO>(m67, minsLo, minsHi, Bsums(a6, nb, b), Bsums(a7, nb, b), dmin * dx67);
            }
        }

        Store(y, yStride, f01 - m01, f23 - m23);
        if (eight) Store(y + 4 * yStride, yStride, f45 - m45, f67 - m67);
    }

    /// <summary>A token's sixteen 16-value sums of super-block <paramref name="b"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static short* Bsums(byte* token, int nb, int b) => (short*)(token + 4 * nb) + 16 * b;

    /// <summary>Two tokens' super-block (or pair of sub-blocks) sums added to <paramref name="acc"/> by <paramref name="scale"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Step(Vector512<float> acc, Vector512<int> t, Vector512<int> u, Vector512<float> scale) =>
        Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(PairSums(t, u)), scale, acc);

    /// <summary>Four tokens' rows, from [token 0 | token 1] and [token 2 | token 3] in lane order, stored in row order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Store(float* y, int yStride, Vector512<float> v01, Vector512<float> v23)
    {
        var back = Vector512.Create(0, 2, 1, 3, 4, 6, 5, 7, 8, 10, 9, 11, 12, 14, 13, 15);
        var t01 = Avx512F.PermuteVar16x32(v01, back);
        var t23 = Avx512F.PermuteVar16x32(v23, back);
        t01.GetLower().Store(y);
        t01.GetUpper().Store(y + yStride);
        t23.GetLower().Store(y + 2 * yStride);
        t23.GetUpper().Store(y + 3 * yStride);
    }

    /// <summary>
    /// One token's sub-blocks 2j (low nibbles <paramref name="l0"/>..<paramref name="l3"/>) and 2j+1
    /// (high) against its 64 activations at <paramref name="x"/>, scaled: two int32 lanes per row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> SubBlocks(Vector512<byte> l0, Vector512<byte> l1, Vector512<byte> l2, Vector512<byte> l3,
        Vector512<byte> h0, Vector512<byte> h1, Vector512<byte> h2, Vector512<byte> h3, Vector512<short> sLo, Vector512<short> sHi, sbyte* x)
    {
        var lo = Avx512BW.MultiplyAddAdjacent(l0, Broadcast8(x)) + Avx512BW.MultiplyAddAdjacent(l1, Broadcast8(x + 8))
            + (Avx512BW.MultiplyAddAdjacent(l2, Broadcast8(x + 16)) + Avx512BW.MultiplyAddAdjacent(l3, Broadcast8(x + 24)));
        var hi = Avx512BW.MultiplyAddAdjacent(h0, Broadcast8(x + 32)) + Avx512BW.MultiplyAddAdjacent(h1, Broadcast8(x + 40))
            + (Avx512BW.MultiplyAddAdjacent(h2, Broadcast8(x + 48)) + Avx512BW.MultiplyAddAdjacent(h3, Broadcast8(x + 56)));
        return Avx512BW.MultiplyAddAdjacent(lo, sLo) + Avx512BW.MultiplyAddAdjacent(hi, sHi);
    }

    /// <summary>Eight activations in every 64-bit lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<sbyte> Broadcast8(sbyte* x) => Vector512.Create(*(long*)x).AsSByte();

    /// <summary>
    /// A 32-byte run of eight rows as four vectors, the q-th holding bytes 8q..8q+7 of every row
    /// (rows in the kernel's lane order).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Transpose(byte* q, int stride, out Vector512<byte> q0, out Vector512<byte> q1, out Vector512<byte> q2, out Vector512<byte> q3)
    {
        // Rows two by two: [r 8-byte 0..3 | r+1 8-byte 0..3].
        var z01 = Avx512F.InsertVector256(Vector256.Load(q).ToVector512Unsafe(), Vector256.Load(q + stride), 1).AsUInt64();
        var z23 = Avx512F.InsertVector256(Vector256.Load(q + 2 * stride).ToVector512Unsafe(), Vector256.Load(q + 3 * stride), 1).AsUInt64();
        var z45 = Avx512F.InsertVector256(Vector256.Load(q + 4 * stride).ToVector512Unsafe(), Vector256.Load(q + 5 * stride), 1).AsUInt64();
        var z67 = Avx512F.InsertVector256(Vector256.Load(q + 6 * stride).ToVector512Unsafe(), Vector256.Load(q + 7 * stride), 1).AsUInt64();
        // Per 128-bit lane [r·0, (r+2)·0 | r·2, (r+2)·2 | (r+1)·0, (r+3)·0 | (r+1)·2, (r+3)·2] (row·8-byte), and 1, 3 alike.
        var u02 = Avx512F.UnpackLow(z01, z23);
        var u13 = Avx512F.UnpackHigh(z01, z23);
        var v02 = Avx512F.UnpackLow(z45, z67);
        var v13 = Avx512F.UnpackHigh(z45, z67);
        // 128-bit lanes 0 and 2 of each (8-byte 0, or 1), then 1 and 3 (2, or 3): rows 0, 2, 1, 3, 4, 6, 5, 7.
        q0 = Avx512F.Shuffle4x128(u02, v02, 0b10_00_10_00).AsByte();
        q2 = Avx512F.Shuffle4x128(u02, v02, 0b11_01_11_01).AsByte();
        q1 = Avx512F.Shuffle4x128(u13, v13, 0b10_00_10_00).AsByte();
        q3 = Avx512F.Shuffle4x128(u13, v13, 0b11_01_11_01).AsByte();
    }

    /// <summary>Four rows' eight scales and eight mins, as words: [row 0's eight | row 1's | row 2's | row 3's].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Words(byte* w, int stride, out Vector512<short> scales, out Vector512<short> mins)
    {
        var h = Avx512F.InsertVector128(Avx512F.InsertVector128(Avx512F.InsertVector128(Vector128.Load((uint*)w).ToVector256Unsafe().ToVector512Unsafe(),
            Vector128.Load((uint*)(w + stride)), 1), Vector128.Load((uint*)(w + 2 * stride)), 2), Vector128.Load((uint*)(w + 3 * stride)), 3);
        // Q4_KHeader.ScalesMins, four rows at once: per 128-bit lane, eight scale bytes then eight mins.
        var sa = Avx512F.ShiftRightLogicalVariable(Avx512F.Shuffle(h, 0b11_10_11_01), Vector512.Create(0u, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4));
        var sb = Avx512F.Shuffle(h, 0b10_10_01_01) >>> 2;
        var sm = (sa & Vector512.Create(0x3f3f3f3fu, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3fu, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f,
                0x3f3f3f3fu, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3fu, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f))
            | (sb & Vector512.Create(0u, 0x30303030, 0, 0x30303030, 0u, 0x30303030, 0, 0x30303030, 0u, 0x30303030, 0, 0x30303030, 0u, 0x30303030, 0, 0x30303030));
        scales = Avx512BW.ConvertToVector512Int16(Avx512F.PermuteVar8x64(sm.AsUInt64(), Vector512.Create(0ul, 2, 4, 6, 0, 2, 4, 6)).GetLower().AsByte());
        mins = Avx512BW.ConvertToVector512Int16(Avx512F.PermuteVar8x64(sm.AsUInt64(), Vector512.Create(1ul, 3, 5, 7, 1, 3, 5, 7)).GetLower().AsByte());
    }

    /// <summary>Eight rows' d and dmin of a super-block: [d0, dmin0, d1, dmin1, …].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Halves8(byte* w, int stride) => Fp16.ToFloat(Vector256.Create(*(uint*)w, *(uint*)(w + stride), *(uint*)(w + 2 * stride),
        *(uint*)(w + 3 * stride), *(uint*)(w + 4 * stride), *(uint*)(w + 5 * stride), *(uint*)(w + 6 * stride), *(uint*)(w + 7 * stride)).AsUInt16());

    /// <summary>Two tokens' two lanes per row summed: [token 0's eight rows | token 1's], rows in lane order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<int> PairSums(Vector512<int> t0, Vector512<int> t1) =>
        Avx512F.PermuteVar16x32x2(t0, Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), t1)
        + Avx512F.PermuteVar16x32x2(t0, Vector512.Create(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), t1);

    /// <summary>
    /// The mins of eight rows (words [rows 0-3], [rows 4-7]) against two tokens t and u, added to
    /// <paramref name="acc"/> ([token t's eight rows | token u's], rows in lane order) by
    /// <paramref name="scale"/>: per pair j of sub-blocks m_2j·bsum_2j + m_2j+1·bsum_2j+1, the four
    /// pairs' sums as one integer, or one step each in the gemm order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> MinSteps<TO>(Vector512<float> acc, Vector512<short> lo, Vector512<short> hi, short* bsumsT, short* bsumsU, Vector512<float> scale)
        where TO : struct, IQ4KOrder
    {
        var bt = Vector512.Create(Q4_KHeader.BsumPairs(bsumsT));
        var bu = Vector512.Create(Q4_KHeader.BsumPairs(bsumsU));
        // madd leaves lane 4r + j with row r's pair j (rows 0-3 from lo, 4-7 from hi); gathered into
        // [pair 0 | pair 1] and [pair 2 | pair 3] of the eight rows in lane order, then per token pair.
        var first = Vector512.Create(0, 8, 4, 12, 16, 24, 20, 28, 1, 9, 5, 13, 17, 25, 21, 29);
        var second = first + Vector512.Create(2);
        var tl = Avx512BW.MultiplyAddAdjacent(lo, bt);
        var th = Avx512BW.MultiplyAddAdjacent(hi, bt);
        var ul = Avx512BW.MultiplyAddAdjacent(lo, bu);
        var uh = Avx512BW.MultiplyAddAdjacent(hi, bu);
        var t01 = Avx512F.PermuteVar16x32x2(tl, first, th);
        var t23 = Avx512F.PermuteVar16x32x2(tl, second, th);
        var u01 = Avx512F.PermuteVar16x32x2(ul, first, uh);
        var u23 = Avx512F.PermuteVar16x32x2(ul, second, uh);
        var p0 = Avx512F.Shuffle4x128(t01, u01, 0b01_00_01_00);
        var p1 = Avx512F.Shuffle4x128(t01, u01, 0b11_10_11_10);
        var p2 = Avx512F.Shuffle4x128(t23, u23, 0b01_00_01_00);
        var p3 = Avx512F.Shuffle4x128(t23, u23, 0b11_10_11_10);
        if (!TO.PerPair) return Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(p0 + p1 + p2 + p3), scale, acc);
        acc = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(p0), scale, acc);
        acc = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(p1), scale, acc);
        acc = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(p2), scale, acc);
        return Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(p3), scale, acc);
    }
}

/// <summary>How many tokens a kernel takes: four, or eight.</summary>
internal interface ITokenCount
{
    static abstract bool Eight { get; }
}

internal readonly struct FourTokens : ITokenCount
{
    public static bool Eight => false;
}

internal readonly struct EightTokens : ITokenCount
{
    public static bool Eight => true;
}
