using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Parley.Inference.Tensors.X86;

/// <summary>
/// Q4_K, four rows against four tokens on AVX2, with the rows side by side as in
/// <see cref="Q4_KRows8Avx512"/>: each vector holds eight bytes of each of the four rows, maddubs
/// against a token's eight activations broadcast, a sub-block's four vectors added as words before
/// one madd by the rows' scales. Integer sums are exact, so each (row, token) takes
/// <see cref="Q4_KHeader"/>'s steps in either of llama.cpp's orders (<see cref="IQ4KOrder"/>) and
/// gives <see cref="VecDotScalar"/>'s bits.
/// </summary>
internal static unsafe class Q4_KRows4Avx2
{
    public static bool Supported => Avx2.IsSupported && Fma.IsSupported;

    /// <summary>Four rows against four tokens in <typeparamref name="TO"/>'s order.</summary>
    public static void Rows4Tokens4<TO>(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride) where TO : struct, IQ4KOrder
    {
        int nb = k / 256, qo = ActivationLayout.QsOffset(DotType.Q8K, k);
        byte* a0 = a, a1 = a + aStride, a2 = a + 2 * aStride, a3 = a + 3 * aStride;
        // Float lanes [r0·t, r1·t, r0·u, r1·u | r2·t, r3·t, r2·u, r3·u] for tokens (t, u) = (0, 1) and (2, 3).
        Vector256<float> f01 = default, f23 = default, m01 = default, m23 = default;
        Vector256<int>* sums = stackalloc Vector256<int>[4];
        // pshufb control for scale s (added to each word): words 0..3 of each 128-bit half from the
        // half's first row (byte s), 4..7 from its second (byte 8 + s), the high bytes zero.
        var control = Vector256.Create((ushort)0x8000, 0x8000, 0x8000, 0x8000, 0x8008, 0x8008, 0x8008, 0x8008,
            0x8000, 0x8000, 0x8000, 0x8000, 0x8008, 0x8008, 0x8008, 0x8008);
        for (int b = 0; b < nb; b++, w += Q4_KHeader.Bytes)
        {
            sbyte* x0 = (sbyte*)(a0 + qo) + 256 * b, x1 = (sbyte*)(a1 + qo) + 256 * b, x2 = (sbyte*)(a2 + qo) + 256 * b, x3 = (sbyte*)(a3 + qo) + 256 * b;
            var s0 = Q4_KHeader.ScalesMins(w).AsUInt64();
            var s1 = Q4_KHeader.ScalesMins(w + wStride).AsUInt64();
            var s2 = Q4_KHeader.ScalesMins(w + 2 * wStride).AsUInt64();
            var s3 = Q4_KHeader.ScalesMins(w + 3 * wStride).AsUInt64();
            // [row 0's eight scales, row 1's | row 2's, row 3's] as bytes.
            var scales = Vector256.Create(Sse2.UnpackLow(s0, s1), Sse2.UnpackLow(s2, s3)).AsByte();
            var minsA = Vector256.Create(Q4_KHeader.MinWords(s0.AsByte()), Q4_KHeader.MinWords(s2.AsByte()));
            var minsB = Vector256.Create(Q4_KHeader.MinWords(s1.AsByte()), Q4_KHeader.MinWords(s3.AsByte()));
            var dd = Q4_KHeader.Halves4(w, wStride);
            var dx = Vector128.Create(((float*)a0)[b], ((float*)a1)[b], ((float*)a2)[b], ((float*)a3)[b]).ToVector256Unsafe();
            var dx01 = Avx2.PermuteVar8x32(dx, Vector256.Create(0, 0, 1, 1, 0, 0, 1, 1));
            var dx23 = Avx2.PermuteVar8x32(dx, Vector256.Create(2, 2, 3, 3, 2, 2, 3, 3));
            var d = Avx2.PermuteVar8x32(dd, Vector256.Create(0, 2, 0, 2, 4, 6, 4, 6));
            var sd01 = d * dx01;
            var sd23 = d * dx23;
            // The integer sums live in memory: sixteen registers hold the eight nibble vectors, the two
            // scales and the products, and the JIT would otherwise spill those, which each token reads.
            sums[0] = sums[1] = sums[2] = sums[3] = default;
            for (int j = 0; j < 4; j++)
            {
                Transpose(w + 16 + 32 * j, wStride, out var q0, out var q1, out var q2, out var q3);
                var m4 = Vector256.Create((byte)0x0F);
                var l0 = q0 & m4;
                var l1 = q1 & m4;
                var l2 = q2 & m4;
                var l3 = q3 & m4;
                var h0 = (q0.AsUInt16() >>> 4).AsByte() & m4;
                var h1 = (q1.AsUInt16() >>> 4).AsByte() & m4;
                var h2 = (q2.AsUInt16() >>> 4).AsByte() & m4;
                var h3 = (q3.AsUInt16() >>> 4).AsByte() & m4;
                var sLo = Avx2.Shuffle(scales, (control + Vector256.Create((ushort)(2 * j))).AsByte()).AsInt16();
                var sHi = Avx2.Shuffle(scales, (control + Vector256.Create((ushort)(2 * j + 1))).AsByte()).AsInt16();
                int at = 64 * j;
                sums[0] = SubBlocks(l0, l1, l2, l3, h0, h1, h2, h3, sLo, sHi, x0 + at) + sums[0];
                sums[1] = SubBlocks(l0, l1, l2, l3, h0, h1, h2, h3, sLo, sHi, x1 + at) + sums[1];
                sums[2] = SubBlocks(l0, l1, l2, l3, h0, h1, h2, h3, sLo, sHi, x2 + at) + sums[2];
                sums[3] = SubBlocks(l0, l1, l2, l3, h0, h1, h2, h3, sLo, sHi, x3 + at) + sums[3];
                if (!TO.PerPair) continue;
                f01 = Step(f01, sums[0], sums[1], sd01);
                f23 = Step(f23, sums[2], sums[3], sd23);
                sums[0] = sums[1] = sums[2] = sums[3] = default;
            }

            if (!TO.PerPair)
            {
                f01 = Step(f01, sums[0], sums[1], sd01);
                f23 = Step(f23, sums[2], sums[3], sd23);
            }

            var dmin = Avx2.PermuteVar8x32(dd, Vector256.Create(1, 3, 1, 3, 5, 7, 5, 7));
            m01 = MinSteps<TO>(m01, minsA, minsB, Bsums(a0, nb, b), Bsums(a1, nb, b), dmin * dx01);
            m23 = MinSteps<TO>(m23, minsA, minsB, Bsums(a2, nb, b), Bsums(a3, nb, b), dmin * dx23);
        }

        // [t: rows 0..3 | u: rows 0..3].
        var rows = Vector256.Create(0, 1, 4, 5, 2, 3, 6, 7);
        var t01 = Avx2.PermuteVar8x32(f01 - m01, rows);
        var t23 = Avx2.PermuteVar8x32(f23 - m23, rows);
        t01.GetLower().Store(y);
        t01.GetUpper().Store(y + yStride);
        t23.GetLower().Store(y + 2 * yStride);
        t23.GetUpper().Store(y + 3 * yStride);
    }

    /// <summary>
    /// One token's sub-blocks 2j (low nibbles) and 2j+1 (high) against its 64 activations at
    /// <paramref name="x"/>, scaled: two int32 lanes per row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> SubBlocks(Vector256<byte> l0, Vector256<byte> l1, Vector256<byte> l2, Vector256<byte> l3,
        Vector256<byte> h0, Vector256<byte> h1, Vector256<byte> h2, Vector256<byte> h3, Vector256<short> sLo, Vector256<short> sHi, sbyte* x)
    {
        // One product after another, so that each broadcast is loaded just before its maddubs.
        var lo = Avx2.MultiplyAddAdjacent(l0, Broadcast8(x));
        lo += Avx2.MultiplyAddAdjacent(l1, Broadcast8(x + 8));
        lo += Avx2.MultiplyAddAdjacent(l2, Broadcast8(x + 16));
        lo += Avx2.MultiplyAddAdjacent(l3, Broadcast8(x + 24));
        var hi = Avx2.MultiplyAddAdjacent(h0, Broadcast8(x + 32));
        hi += Avx2.MultiplyAddAdjacent(h1, Broadcast8(x + 40));
        hi += Avx2.MultiplyAddAdjacent(h2, Broadcast8(x + 48));
        hi += Avx2.MultiplyAddAdjacent(h3, Broadcast8(x + 56));
        return Avx2.MultiplyAddAdjacent(lo, sLo) + Avx2.MultiplyAddAdjacent(hi, sHi);
    }

    /// <summary>Eight activations in every 64-bit lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<sbyte> Broadcast8(sbyte* x) => Vector256.Create(*(long*)x).AsSByte();

    /// <summary>A 32-byte run of four rows as four vectors, the q-th holding bytes 8q..8q+7 of rows 0..3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose(byte* q, int stride, out Vector256<byte> q0, out Vector256<byte> q1, out Vector256<byte> q2, out Vector256<byte> q3)
    {
        var r0 = Vector256.Load((ulong*)q);
        var r1 = Vector256.Load((ulong*)(q + stride));
        var r2 = Vector256.Load((ulong*)(q + 2 * stride));
        var r3 = Vector256.Load((ulong*)(q + 3 * stride));
        // [r0·0, r1·0 | r0·2, r1·2] and so on (row·8-byte), then the halves regrouped.
        var lo01 = Avx2.UnpackLow(r0, r1);
        var hi01 = Avx2.UnpackHigh(r0, r1);
        var lo23 = Avx2.UnpackLow(r2, r3);
        var hi23 = Avx2.UnpackHigh(r2, r3);
        q0 = Avx2.Permute2x128(lo01, lo23, 0x20).AsByte();
        q2 = Avx2.Permute2x128(lo01, lo23, 0x31).AsByte();
        q1 = Avx2.Permute2x128(hi01, hi23, 0x20).AsByte();
        q3 = Avx2.Permute2x128(hi01, hi23, 0x31).AsByte();
    }

    /// <summary>A token's sixteen 16-value sums of super-block <paramref name="b"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static short* Bsums(byte* token, int nb, int b) => (short*)(token + 4 * nb) + 16 * b;

    /// <summary>Two tokens' super-block (or pair of sub-blocks) sums, each row's two lanes added, into <paramref name="acc"/> by <paramref name="scale"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Step(Vector256<float> acc, Vector256<int> t, Vector256<int> u, Vector256<float> scale) =>
        Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.HorizontalAdd(t, u)), scale, acc);

    /// <summary>
    /// The mins of four rows (words [row 0 | row 2] and [row 1 | row 3]) against tokens t and u, added
    /// to <paramref name="acc"/> by <paramref name="scale"/>: per pair j of sub-blocks
    /// m_2j·bsum_2j + m_2j+1·bsum_2j+1, the four pairs' sums as one integer, or one step each in the gemm order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> MinSteps<TO>(Vector256<float> acc, Vector256<short> minsA, Vector256<short> minsB, short* bsumsT, short* bsumsU, Vector256<float> scale)
        where TO : struct, IQ4KOrder
    {
        var t = Q4_KHeader.BsumPairs(bsumsT);
        var u = Q4_KHeader.BsumPairs(bsumsU);
        var bt = Vector256.Create(t, t);
        var bu = Vector256.Create(u, u);
        // Per 128-bit half, madd leaves one row's four pairs.
        var at = Avx2.MultiplyAddAdjacent(minsA, bt);
        var bT = Avx2.MultiplyAddAdjacent(minsB, bt);
        var au = Avx2.MultiplyAddAdjacent(minsA, bu);
        var bU = Avx2.MultiplyAddAdjacent(minsB, bu);
        if (!TO.PerPair)
        {
            var sums = Avx2.HorizontalAdd(Avx2.HorizontalAdd(at, bT), Avx2.HorizontalAdd(au, bU));
            return Fma.MultiplyAdd(Avx.ConvertToVector256Single(sums), scale, acc);
        }

        // [r·j0, r'·j0, r·j1, r'·j1] per half, then the two tokens' pair j side by side.
        var t01 = Avx2.UnpackLow(at, bT).AsInt64();
        var t23 = Avx2.UnpackHigh(at, bT).AsInt64();
        var u01 = Avx2.UnpackLow(au, bU).AsInt64();
        var u23 = Avx2.UnpackHigh(au, bU).AsInt64();
        acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.UnpackLow(t01, u01).AsInt32()), scale, acc);
        acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.UnpackHigh(t01, u01).AsInt32()), scale, acc);
        acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.UnpackLow(t23, u23).AsInt32()), scale, acc);
        return Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.UnpackHigh(t23, u23).AsInt32()), scale, acc);
    }
}
