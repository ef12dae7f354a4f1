using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Parley.Inference.Tensors.X86;

/// <summary>
/// Q6_K tiles on AVX-512 BW without VNNI: one vector holds two rows' super-blocks, row r in the lower
/// 256 bits and r+1 in the upper, against the token's values in both. Each half carries its row's
/// eight lanes of <see cref="VecDotK256.Q6Dot{TL}"/> (exact integers: Σ scale·q·x over each lane's four
/// bytes of every quant vector, less the −32 offset's share), converted and added with one FMA by
/// d·d_x per super-block, so every (row, token) gets the 256-bit row dot's bits while each instruction
/// does two rows.
/// </summary>
internal static unsafe class Q6_KAvx512
{
    private const int Bytes = 210, ScalesOffset = 192, DOffset = 208;

    public static bool Supported => Avx512BW.IsSupported && Avx2.IsSupported && Fma.IsSupported;

    /// <summary>32 bytes at <paramref name="p"/> of row r and of row r+1, in the two halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> Pair(byte* p, int stride) =>
        Avx512F.InsertVector256(Vector256.Load(p).ToVector512Unsafe(), Vector256.Load(p + stride), 1);

    /// <summary>32 bytes in both halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<sbyte> Both(sbyte* p)
    {
        var v = Vector256.Load((ulong*)p).ToVector512Unsafe();
        return Avx512F.Shuffle4x128(v, v, 0b01_00_01_00).AsSByte();
    }

    /// <summary>The two rows' sixteen scales as words: row r's in words 0..15, row r+1's in 16..31.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> ScaleWords(byte* w, int stride) =>
        Avx512BW.ConvertToVector512Int16(Vector256.Create(Vector128.Load((sbyte*)(w + ScalesOffset)), Vector128.Load((sbyte*)(w + stride + ScalesOffset))));

    /// <summary>Quant vector v of half j's scales, per row: scale 8j+2v on its first eight words, 8j+2v+1 on the next eight.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> Scales(Vector512<short> words, int j, int v) => Avx512BW.PermuteVar32x16(words,
        Vector512.Create((short)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 16, 16, 16, 16, 16, 16, 16, 16, 17, 17, 17, 17, 17, 17, 17, 17)
        + Vector512.Create((short)(8 * j + 2 * v)));

    /// <summary>The four 6-bit quant vectors (0..63) of half j of both rows' super-blocks, in ggml's order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Quants(byte* w, int stride, int j, out Vector512<byte> q0, out Vector512<byte> q1, out Vector512<byte> q2, out Vector512<byte> q3)
    {
        var m4 = Vector512.Create((byte)0x0F);
        var m30 = Vector512.Create((byte)0x30);
        var bits1 = Pair(w + 64 * j, stride);
        var bits2 = Pair(w + 64 * j + 32, stride);
        var high = Pair(w + 128 + 32 * j, stride).AsUInt16();
        q0 = (bits1 & m4) | ((high << 4).AsByte() & m30);
        q1 = (bits2 & m4) | ((high << 2).AsByte() & m30);
        q2 = ((bits1.AsUInt16() >>> 4).AsByte() & m4) | (high.AsByte() & m30);
        q3 = ((bits2.AsUInt16() >>> 4).AsByte() & m4) | ((high >>> 2).AsByte() & m30);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Scaled(Vector512<byte> q, Vector512<short> s, sbyte* x) =>
        Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(q, Both(x)), s);

    /// <summary>The −32 offset's share of each lane (<see cref="VecDotK256.Q6Offsets"/>), both rows against one token's sixteen-value sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Offsets(Vector512<short> words, short* bsums)
    {
        var v = Vector256.Load((ulong*)bsums).ToVector512Unsafe();
        return Avx512BW.MultiplyAddAdjacent(words, Avx512F.Shuffle4x128(v, v, 0b01_00_01_00).AsInt16()) << 5;
    }

    /// <summary>The two rows' d times the token's, each across its half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Scale(byte* w, int stride, float dx)
    {
        var d = Fp16.ToFloat(Vector128.CreateScalar(*(ushort*)(w + DOffset) | (uint)*(ushort*)(w + stride + DOffset) << 16).AsUInt16()) * Vector256.Create(dx);
        return Avx512F.PermuteVar16x32(d.ToVector512Unsafe(), Vector512.Create(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
    }

    /// <summary>Rows r, r+1 against one token: the super-block's lanes of both.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> PairLanes(byte* w, int stride, sbyte* x, short* bsums)
    {
        var words = ScaleWords(w, stride);
        var sumi = -Offsets(words, bsums);
        for (int j = 0; j < 2; j++)
        {
            Quants(w, stride, j, out var q0, out var q1, out var q2, out var q3);
            sbyte* xj = x + 128 * j;
            sumi += Scaled(q0, Scales(words, j, 0), xj) + Scaled(q1, Scales(words, j, 1), xj + 32)
                + Scaled(q2, Scales(words, j, 2), xj + 64) + Scaled(q3, Scales(words, j, 3), xj + 96);
        }

        return sumi;
    }

    /// <summary>Four rows' ggml sums from two row-pair accumulators, rows in lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Sums(Vector512<float> c01, Vector512<float> c23) =>
        VecDot256.HorizontalSums(c01.GetLower(), c01.GetUpper(), c23.GetLower(), c23.GetUpper());

    /// <summary>Four rows against one token.</summary>
    public static void Rows4Tokens1(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
    {
        int nb = k / 256;
        float* d = (float*)a;
        short* bsums = (short*)(a + 4 * nb);
        sbyte* qs = (sbyte*)(a + ActivationLayout.QsOffset(DotType.Q8K, k));
        Vector512<float> c01 = default, c23 = default;
        byte* start = w;
        int span = RowPrefetch.Span(wStride, nb);
        for (int b = 0; b < nb; b++, w += Bytes)
        {
            RowPrefetch.Next4(start, wStride, b, span);
            sbyte* x = qs + 256 * b;
            c01 = Avx512F.FusedMultiplyAdd(Scale(w, wStride, d[b]), Avx512F.ConvertToVector512Single(PairLanes(w, wStride, x, bsums + 16 * b)), c01);
            c23 = Avx512F.FusedMultiplyAdd(Scale(w + 2 * wStride, wStride, d[b]), Avx512F.ConvertToVector512Single(PairLanes(w + 2 * wStride, wStride, x, bsums + 16 * b)), c23);
        }

        Sums(c01, c23).Store(y);
    }

    /// <summary>Four rows against four tokens, a row pair at a time.</summary>
    public static void Rows4Tokens4(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
    {
        Rows2Tokens4(w, wStride, a, aStride, k, y, yStride);
        Rows2Tokens4(w + 2 * wStride, wStride, a, aStride, k, y + 2, yStride);
    }

    /// <summary>Two rows (one vector) against four tokens: each half block's quants and scales unpacked once for the four.</summary>
    private static void Rows2Tokens4(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
    {
        int nb = k / 256, qo = ActivationLayout.QsOffset(DotType.Q8K, k);
        byte* a0 = a, a1 = a + aStride, a2 = a + 2 * aStride, a3 = a + 3 * aStride;
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default;
        for (int b = 0; b < nb; b++, w += Bytes)
        {
            var words = ScaleWords(w, wStride);
            var i0 = -Offsets(words, (short*)(a0 + 4 * nb) + 16 * b);
            var i1 = -Offsets(words, (short*)(a1 + 4 * nb) + 16 * b);
            var i2 = -Offsets(words, (short*)(a2 + 4 * nb) + 16 * b);
            var i3 = -Offsets(words, (short*)(a3 + 4 * nb) + 16 * b);
            for (int j = 0; j < 2; j++)
            {
                Quants(w, wStride, j, out var q0, out var q1, out var q2, out var q3);
                var s0 = Scales(words, j, 0);
                var s1 = Scales(words, j, 1);
                var s2 = Scales(words, j, 2);
                var s3 = Scales(words, j, 3);
                int o = qo + 256 * b + 128 * j;
                i0 += Scaled(q0, s0, (sbyte*)(a0 + o)) + Scaled(q1, s1, (sbyte*)(a0 + o + 32)) + Scaled(q2, s2, (sbyte*)(a0 + o + 64)) + Scaled(q3, s3, (sbyte*)(a0 + o + 96));
                i1 += Scaled(q0, s0, (sbyte*)(a1 + o)) + Scaled(q1, s1, (sbyte*)(a1 + o + 32)) + Scaled(q2, s2, (sbyte*)(a1 + o + 64)) + Scaled(q3, s3, (sbyte*)(a1 + o + 96));
                i2 += Scaled(q0, s0, (sbyte*)(a2 + o)) + Scaled(q1, s1, (sbyte*)(a2 + o + 32)) + Scaled(q2, s2, (sbyte*)(a2 + o + 64)) + Scaled(q3, s3, (sbyte*)(a2 + o + 96));
                i3 += Scaled(q0, s0, (sbyte*)(a3 + o)) + Scaled(q1, s1, (sbyte*)(a3 + o + 32)) + Scaled(q2, s2, (sbyte*)(a3 + o + 64)) + Scaled(q3, s3, (sbyte*)(a3 + o + 96));
            }

            c0 = Avx512F.FusedMultiplyAdd(Scale(w, wStride, ((float*)a0)[b]), Avx512F.ConvertToVector512Single(i0), c0);
            c1 = Avx512F.FusedMultiplyAdd(Scale(w, wStride, ((float*)a1)[b]), Avx512F.ConvertToVector512Single(i1), c1);
            c2 = Avx512F.FusedMultiplyAdd(Scale(w, wStride, ((float*)a2)[b]), Avx512F.ConvertToVector512Single(i2), c2);
            c3 = Avx512F.FusedMultiplyAdd(Scale(w, wStride, ((float*)a3)[b]), Avx512F.ConvertToVector512Single(i3), c3);
        }

        // Row r's sums, tokens in lanes, then row r+1's.
        var r = VecDot256.HorizontalSums(c0.GetLower(), c1.GetLower(), c2.GetLower(), c3.GetLower());
        var r1 = VecDot256.HorizontalSums(c0.GetUpper(), c1.GetUpper(), c2.GetUpper(), c3.GetUpper());
        for (int t = 0; t < 4; t++)
        {
            y[t * yStride] = r.GetElement(t);
            y[t * yStride + 1] = r1.GetElement(t);
        }
    }
}
