using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Parley.Inference.Tensors;

/// <summary>
/// AVX2 dot products of the K-quants against Q8_K activations, ported operation for operation from
/// ggml's AVX2 kernels so that every int32 lane, and so every float sum, comes out the same.
/// </summary>
internal static unsafe class VecDotK256
{
    public static delegate*<byte*, byte*, int, float> Get(GgmlType type)
    {
        if (!Avx2.IsSupported || !Fma.IsSupported) return null;
        return type switch
        {
            GgmlType.Q4_K => &Q4_K,
            GgmlType.Q5_K => &Q5_K,
            GgmlType.Q6_K => &Q6_K,
            _ => null,
        };
    }

    /// <summary>A shuffle that spreads byte pair (2i, 2i+1) of a 128-bit lane over the whole lane.</summary>
    internal static Vector128<byte> PairShuffle(int i) => Vector128.Create((ushort)(2 * i | (2 * i + 1) << 8)).AsByte();

    /// <summary>A shuffle giving eight copies of byte 2i, then eight of byte 2i+1.</summary>
    internal static Vector128<sbyte> HalvesShuffle(int i) => Vector128.Create((sbyte)(2 * i)) + PairIndices;

    /// <summary>Eight zeros then eight ones: with 2i added, the shuffle that spreads bytes 2i and 2i+1 over the two halves.</summary>
    private static readonly Vector128<sbyte> PairIndices = Vector128.Create(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, (sbyte)1);

    /// <summary>Q6_K in ggml's AVX2 order, with VNNI where the CPU has it (the JIT keeps only one branch).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Q6_K(byte* w, byte* a, int k) => AvxVnni.IsSupported ? Q6_KVnni(w, a, k) : Q6_KAvx2(w, a, k);

    /// <summary>
    /// Q6_K block (210 bytes): ql[128] low nibbles, qh[64] two high bits each, 16 int8 scales, half d.
    /// Per 128 values: four vectors of 6-bit quants, maddubs with the activations minus 32·activations,
    /// scaled per 16 values with madd, summed into eight int32 lanes; one FMA by d per super-block.
    /// </summary>
    internal static float Q6_KAvx2(byte* w, byte* a, int k)
    {
        int nb = k / 256;
        float* yd = (float*)a;
        sbyte* qs = (sbyte*)(a + ActivationLayout.QsOffset(DotType.Q8K, k));
        var m4 = Vector256.Create((byte)0x0F);
        var m2 = Vector256.Create((byte)3);
        var m32 = Vector256.Create((byte)32);
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < nb; b++, w += 210)
        {
            float d = yd[b] * Fp16.ToFloat(*(ushort*)(w + 208));
            byte* ql = w;
            byte* qh = w + 128;
            sbyte* q8 = qs + 256 * b;
            var scales = Vector128.Load((sbyte*)(w + 192));
            var sumi = Vector256<int>.Zero;
            for (int j = 0; j < 2; j++, ql += 64, qh += 32, q8 += 128)
            {
                var s0 = Avx2.ConvertToVector256Int16(Ssse3.Shuffle(scales, HalvesShuffle(4 * j + 0)));
                var s1 = Avx2.ConvertToVector256Int16(Ssse3.Shuffle(scales, HalvesShuffle(4 * j + 1)));
                var s2 = Avx2.ConvertToVector256Int16(Ssse3.Shuffle(scales, HalvesShuffle(4 * j + 2)));
                var s3 = Avx2.ConvertToVector256Int16(Ssse3.Shuffle(scales, HalvesShuffle(4 * j + 3)));
                var bits1 = Vector256.Load(ql);
                var bits2 = Vector256.Load(ql + 32);
                var high = Vector256.Load(qh);
                var h0 = ((high & m2).AsUInt16() << 4).AsByte();
                var h1 = (((high.AsUInt16() >>> 2).AsByte() & m2).AsUInt16() << 4).AsByte();
                var h2 = (((high.AsUInt16() >>> 4).AsByte() & m2).AsUInt16() << 4).AsByte();
                var h3 = (((high.AsUInt16() >>> 6).AsByte() & m2).AsUInt16() << 4).AsByte();
                var q0 = (bits1 & m4) | h0;
                var q1 = (bits2 & m4) | h1;
                var q2 = ((bits1.AsUInt16() >>> 4).AsByte() & m4) | h2;
                var q3 = ((bits2.AsUInt16() >>> 4).AsByte() & m4) | h3;
                var y0 = Vector256.Load(q8);
                var y1 = Vector256.Load(q8 + 32);
                var y2 = Vector256.Load(q8 + 64);
                var y3 = Vector256.Load(q8 + 96);
                var p0 = Avx2.MultiplyAddAdjacent(q0, y0) - Avx2.MultiplyAddAdjacent(m32, y0);
                var p1 = Avx2.MultiplyAddAdjacent(q1, y1) - Avx2.MultiplyAddAdjacent(m32, y1);
                var p2 = Avx2.MultiplyAddAdjacent(q2, y2) - Avx2.MultiplyAddAdjacent(m32, y2);
                var p3 = Avx2.MultiplyAddAdjacent(q3, y3) - Avx2.MultiplyAddAdjacent(m32, y3);
                sumi += Avx2.MultiplyAddAdjacent(s0, p0) + Avx2.MultiplyAddAdjacent(s1, p1);
                sumi += Avx2.MultiplyAddAdjacent(s2, p2) + Avx2.MultiplyAddAdjacent(s3, p3);
            }

            acc = Fma.MultiplyAdd(Vector256.Create(d), Avx.ConvertToVector256Single(sumi), acc);
        }

        return VecDot256.HorizontalSum(acc);
    }

    /// <summary>
    /// Q6_K with VNNI. Every int32 lane ends up holding what it holds in ggml's AVX2 kernel above,
    /// Σ scale·(q − 32)·y over its four bytes of each 32-value vector, and the float work is the
    /// same, so the result is bit for bit the same. The integer work is cheaper: one VPDPBUSD
    /// starting from the activations' precomputed −32·Σy, then one multiply by the scale, in place
    /// of two maddubs, a subtraction and a madd; and the high bits are moved into place with one
    /// shift and mask each.
    /// </summary>
    internal static float Q6_KVnni(byte* w, byte* a, int k)
    {
        int nb = k / 256;
        float* yd = (float*)a;
        sbyte* qs = (sbyte*)(a + ActivationLayout.QsOffset(DotType.Q8K, k));
        int* offsetSums = (int*)(a + ActivationLayout.Q6OffsetSumsOffset(k));
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < nb; b++, w += 210)
        {
            float d = yd[b] * Fp16.ToFloat(*(ushort*)(w + 208));
            var sumi = Vector256<int>.Zero;
            for (int j = 0; j < 2; j++)
            {
                Q6Quants(w, j, out var q0, out var q1, out var q2, out var q3);
                Q6Scales(w, j, out var s0, out var s1, out var s2, out var s3);
                int at = 256 * b + 128 * j;
                sumi += Q6Lanes(q0, q1, q2, q3, s0, s1, s2, s3, qs + at, offsetSums + at / 4);
            }

            acc = Fma.MultiplyAdd(Vector256.Create(d), Avx.ConvertToVector256Single(sumi), acc);
        }

        return VecDot256.HorizontalSum(acc);
    }

    /// <summary>The four 32-value vectors of half <paramref name="j"/> of a Q6_K block as 6-bit quants (0..63), in ggml's order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Q6Quants(byte* w, int j, out Vector256<byte> q0, out Vector256<byte> q1, out Vector256<byte> q2, out Vector256<byte> q3)
    {
        var m4 = Vector256.Create((byte)0x0F);
        var m30 = Vector256.Create((byte)0x30);
        var bits1 = Vector256.Load(w + 64 * j);
        var bits2 = Vector256.Load(w + 64 * j + 32);
        var high = Vector256.Load(w + 128 + 32 * j).AsUInt16();
        q0 = (bits1 & m4) | ((high << 4).AsByte() & m30);
        q1 = (bits2 & m4) | ((high << 2).AsByte() & m30);
        q2 = ((bits1.AsUInt16() >>> 4).AsByte() & m4) | (high.AsByte() & m30);
        q3 = ((bits2.AsUInt16() >>> 4).AsByte() & m4) | ((high >>> 2).AsByte() & m30);
    }

    /// <summary>
    /// The scales of half <paramref name="j"/>'s four vectors as int32 lanes: vector v takes scale
    /// 8j+2v on its first sixteen bytes (lanes 0-3) and 8j+2v+1 on the rest.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Q6Scales(byte* w, int j, out Vector256<int> s0, out Vector256<int> s1, out Vector256<int> s2, out Vector256<int> s3)
    {
        var s = Avx2.ConvertToVector256Int32((sbyte*)(w + 192 + 8 * j));
        s0 = Avx2.PermuteVar8x32(s, Vector256.Create(0, 0, 0, 0, 1, 1, 1, 1));
        s1 = Avx2.PermuteVar8x32(s, Vector256.Create(2, 2, 2, 2, 3, 3, 3, 3));
        s2 = Avx2.PermuteVar8x32(s, Vector256.Create(4, 4, 4, 4, 5, 5, 5, 5));
        s3 = Avx2.PermuteVar8x32(s, Vector256.Create(6, 6, 6, 6, 7, 7, 7, 7));
    }

    /// <summary>Σ scale·(q − 32)·y of one half block into ggml's eight lanes: VPDPBUSD from the activations' −32·(sums of four) at <paramref name="o"/>, times the scale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<int> Q6Lanes(Vector256<byte> q0, Vector256<byte> q1, Vector256<byte> q2, Vector256<byte> q3,
        Vector256<int> s0, Vector256<int> s1, Vector256<int> s2, Vector256<int> s3, sbyte* y, int* o) =>
        AvxVnni.MultiplyWideningAndAdd(Vector256.Load(o), q0, Vector256.Load(y)) * s0
        + AvxVnni.MultiplyWideningAndAdd(Vector256.Load(o + 8), q1, Vector256.Load(y + 32)) * s1
        + AvxVnni.MultiplyWideningAndAdd(Vector256.Load(o + 16), q2, Vector256.Load(y + 64)) * s2
        + AvxVnni.MultiplyWideningAndAdd(Vector256.Load(o + 24), q3, Vector256.Load(y + 96)) * s3;

    /// <summary>The eight scales (bytes 0..7) and eight mins (8..15) of a Q4_K or Q5_K block, widened to int16, as ggml unpacks them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<short> ScalesAndMins(byte* w)
    {
        const uint kmask1 = 0x3f3f3f3f, kmask2 = 0x0f0f0f0f, kmask3 = 0x03030303;
        uint* raw = (uint*)(w + 4);
        uint u0 = raw[0], u1 = raw[1], u2 = raw[2];
        var u = Vector128.Create(u0 & kmask1, (u2 & kmask2) | (((u0 >> 6) & kmask3) << 4), u1 & kmask1, ((u2 >> 4) & kmask2) | (((u1 >> 6) & kmask3) << 4));
        return Avx2.ConvertToVector256Int16(u.AsByte());
    }

    /// <summary>
    /// Q5_K block (176 bytes): half d, half dmin, 12 bytes of scales and mins, qh[32] (the fifth bits),
    /// qs[128]. As ggml: the mins' products with the 16-value sums are summed as an integer and
    /// added, times dmin, to a float beside the vector accumulator; the fifth bit is taken one plane
    /// at a time from qh.
    /// </summary>
    internal static float Q5_K(byte* w, byte* a, int k)
    {
        int nb = k / 256;
        float* yd = (float*)a;
        short* bsums = (short*)(a + 4 * nb);
        sbyte* qs = (sbyte*)(a + ActivationLayout.QsOffset(DotType.Q8K, k));
        var m4 = Vector256.Create((byte)0x0F);
        var acc = Vector256<float>.Zero;
        float summs = 0;
        for (int b = 0; b < nb; b++, w += 176)
        {
            float d = yd[b] * Fp16.ToFloat(*(ushort*)w);
            float dmin = -yd[b] * Fp16.ToFloat(*(ushort*)(w + 2));
            var minsAndScales = ScalesAndMins(w);
            var prod = MinSums(minsAndScales.GetUpper(), bsums + 16 * b);
            summs += dmin * (prod.GetElement(0) + prod.GetElement(1) + prod.GetElement(2) + prod.GetElement(3));

            var sc128 = minsAndScales.GetLower().AsByte();
            var hbits = Vector256.Load(w + 16);
            var sumi = Vector256<int>.Zero;
            byte* q5 = w + 48;
            sbyte* q8 = qs + 256 * b;
            for (int j = 0; j < 4; j++, q5 += 32, q8 += 64)
            {
                var sl = Ssse3.Shuffle(sc128, PairShuffle(2 * j)).AsInt16();
                var sh = Ssse3.Shuffle(sc128, PairShuffle(2 * j + 1)).AsInt16();
                var bits = Vector256.Load(q5);
                var lo = (bits & m4) | FifthBit(hbits, 2 * j);
                var hi = ((bits.AsUInt16() >>> 4).AsByte() & m4) | FifthBit(hbits, 2 * j + 1);
                var pl = Avx2.MultiplyAddAdjacent(Vector256.Create(sl, sl), Avx2.MultiplyAddAdjacent(lo, Vector256.Load(q8)));
                var ph = Avx2.MultiplyAddAdjacent(Vector256.Create(sh, sh), Avx2.MultiplyAddAdjacent(hi, Vector256.Load(q8 + 32)));
                sumi += pl + ph;
            }

            acc = Fma.MultiplyAdd(Vector256.Create(d), Avx.ConvertToVector256Single(sumi), acc);
        }

        return VecDot256.HorizontalSum(acc) + summs;
    }

    /// <summary>Bit <paramref name="plane"/> of every qh byte, as the value 16 or 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<byte> FifthBit(Vector256<byte> qh, int plane) =>
        (((qh.AsUInt16() >>> plane).AsByte() & Vector256.Create((byte)1)).AsUInt16() << 4).AsByte();

    /// <summary>
    /// Q4_K block (144 bytes): half d, half dmin, 12 bytes of packed 6-bit scales and mins, qs[128].
    /// The mins meet the activations' 16-value sums in a 128-bit side accumulator; the scaled
    /// nibble products go through maddubs/madd into eight int32 lanes, as ggml does.
    /// </summary>
    internal static float Q4_K(byte* w, byte* a, int k)
    {
        int nb = k / 256;
        float* yd = (float*)a;
        short* bsums = (short*)(a + 4 * nb);
        sbyte* qs = (sbyte*)(a + ActivationLayout.QsOffset(DotType.Q8K, k));
        var acc = Vector256<float>.Zero;
        var accM = Vector128<float>.Zero;
        for (int b = 0; b < nb; b++, w += 144)
        {
            float d = yd[b] * Fp16.ToFloat(*(ushort*)w);
            float dmin = -yd[b] * Fp16.ToFloat(*(ushort*)(w + 2));
            var minsAndScales = ScalesAndMins(w);

            var prod = MinSums(minsAndScales.GetUpper(), bsums + 16 * b);
            accM = Fma.MultiplyAdd(Vector128.Create(dmin), Sse2.ConvertToVector128Single(prod), accM);
            var sumi = Q4KScaledSums(w + 16, qs + 256 * b, minsAndScales.GetLower().AsByte());
            acc = Fma.MultiplyAdd(Vector256.Create(d), Avx.ConvertToVector256Single(sumi), acc);
        }

        return FinishQ4K(acc, accM);
    }

    /// <summary>
    /// Σ_j sc_j·(q·x) of one Q4_K super-block (nibbles at <paramref name="q4"/>, scales as bytes 0..15 of
    /// int16 lanes) against its 256 activations, in ggml's eight int32 lanes: maddubs, then madd by the
    /// sub-block's scale (no int16 overflow for 4-bit quants).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<int> Q4KScaledSums(byte* q4, sbyte* q8, Vector128<byte> scales)
    {
        var m4 = Vector256.Create((byte)0x0F);
        var sumi = Vector256<int>.Zero;
        for (int j = 0; j < 4; j++, q4 += 32, q8 += 64)
        {
            var sl = Ssse3.Shuffle(scales, PairShuffle(2 * j)).AsInt16();
            var sh = Ssse3.Shuffle(scales, PairShuffle(2 * j + 1)).AsInt16();
            var bits = Vector256.Load(q4);
            var lo = bits & m4;
            var hi = (bits.AsUInt16() >>> 4).AsByte() & m4;
            sumi += Avx2.MultiplyAddAdjacent(Vector256.Create(sl, sl), Avx2.MultiplyAddAdjacent(lo, Vector256.Load(q8)));
            sumi += Avx2.MultiplyAddAdjacent(Vector256.Create(sh, sh), Avx2.MultiplyAddAdjacent(hi, Vector256.Load(q8 + 32)));
        }

        return sumi;
    }

    /// <summary>A Q4_K/Q5_K super-block's eight mins times its activations' 32-value sums (from the 16-value <paramref name="bsums"/>), in four int32 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<int> MinSums(Vector128<short> mins, short* bsums)
    {
        var sums = Vector256.Load(bsums);
        return Sse2.MultiplyAddAdjacent(mins, Ssse3.HorizontalAdd(sums.GetLower(), sums.GetUpper()));
    }

    /// <summary>ggml's end of a Q4_K dot: the vector accumulator's sum plus the mins' 128-bit accumulator's.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float FinishQ4K(Vector256<float> acc, Vector128<float> accM)
    {
        accM += Sse.MoveHighToLow(accM, accM);
        float m = accM.GetElement(0) + accM.GetElement(1);
        return VecDot256.HorizontalSum(acc) + m;
    }
}
