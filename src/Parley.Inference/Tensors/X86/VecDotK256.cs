using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Parley.Inference.Tensors.X86;

/// <summary>
/// AVX2 dot products of the K-quants against Q8_K activations, ported operation for operation from
/// ggml's kernels so that every int32 lane, and so every float sum, comes out the same (Q6_K sums its
/// lanes to the super-block's whole integer instead, <see cref="Q6_KWholeBlock"/>).
/// </summary>
internal static unsafe class VecDotK256
{
    public static delegate*<byte*, byte*, int, float> Get(GgmlType type)
    {
        if (!Avx2.IsSupported || !Fma.IsSupported) return null;
        return type switch
        {
            GgmlType.Q4_K => &X86.Q4_KHeader.Dot<X86.Q4_KAvx2>,
            GgmlType.Q5_K => &Q5_K,
            GgmlType.Q6_K => &Q6_K,
            _ => null,
        };
    }

    /// <summary>A shuffle that spreads byte pair (2i, 2i+1) of a 128-bit lane over the whole lane.</summary>
    internal static Vector128<byte> PairShuffle(int i) => Vector128.Create((ushort)(2 * i | (2 * i + 1) << 8)).AsByte();

    /// <summary>A shuffle giving eight copies of byte 2i, then eight of byte 2i+1 (a literal, which the JIT keeps as a constant).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<sbyte> HalvesShuffle(int i) => Vector128.Create((sbyte)(2 * i)) + Vector128.Create(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, (sbyte)1);

    /// <summary>Q6_K: each super-block's whole integer, one FMA (<see cref="Q6_KWholeBlock"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Q6_K(byte* w, byte* a, int k) => Q6_KWholeBlock.VectorDot(w, a, k);

    /// <summary>
    /// A block's −32 offset as the lanes carry it: lane m holds 32·(scale·bsum) of its sixteen-value
    /// groups 2m and 2m+1, where bsum is the activations' sum over the group.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<int> Q6Offsets(byte* w, short* bsums) =>
        Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Vector128.Load((sbyte*)(w + 192))), Vector256.Load(bsums)) << 5;

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
    /// How a half block's four quant vectors become the eight int32 lanes, Σ scale·q·y over each
    /// lane's four bytes of every vector (q unsigned): vector v takes scale 8j+2v on its first sixteen
    /// bytes and 8j+2v+1 on the rest. The sums are exact integers, so every way gives the same lanes.
    /// </summary>
    internal interface IQ6Lanes
    {
        /// <summary>Half <paramref name="j"/>'s scales in the form <see cref="Lanes"/> takes them.</summary>
        static abstract void Scales(byte* w, int j, out Vector256<int> s0, out Vector256<int> s1, out Vector256<int> s2, out Vector256<int> s3);

        /// <summary>The lanes of one half block against activations <paramref name="y"/>.</summary>
        static abstract Vector256<int> Lanes(Vector256<byte> q0, Vector256<byte> q1, Vector256<byte> q2, Vector256<byte> q3,
            Vector256<int> s0, Vector256<int> s1, Vector256<int> s2, Vector256<int> s3, sbyte* y);
    }

    /// <summary>AVX2: maddubs of the quants with the activations, then madd with the int16 scales.</summary>
    internal readonly struct Q6Avx2Lanes : IQ6Lanes
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Scales(byte* w, int j, out Vector256<int> s0, out Vector256<int> s1, out Vector256<int> s2, out Vector256<int> s3)
        {
            var scales = Vector128.Load((sbyte*)(w + 192));
            s0 = Avx2.ConvertToVector256Int16(Ssse3.Shuffle(scales, HalvesShuffle(4 * j + 0))).AsInt32();
            s1 = Avx2.ConvertToVector256Int16(Ssse3.Shuffle(scales, HalvesShuffle(4 * j + 1))).AsInt32();
            s2 = Avx2.ConvertToVector256Int16(Ssse3.Shuffle(scales, HalvesShuffle(4 * j + 2))).AsInt32();
            s3 = Avx2.ConvertToVector256Int16(Ssse3.Shuffle(scales, HalvesShuffle(4 * j + 3))).AsInt32();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Lanes(Vector256<byte> q0, Vector256<byte> q1, Vector256<byte> q2, Vector256<byte> q3,
            Vector256<int> s0, Vector256<int> s1, Vector256<int> s2, Vector256<int> s3, sbyte* y) =>
            Scaled(q0, s0, Vector256.Load(y)) + Scaled(q1, s1, Vector256.Load(y + 32))
            + Scaled(q2, s2, Vector256.Load(y + 64)) + Scaled(q3, s3, Vector256.Load(y + 96));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<int> Scaled(Vector256<byte> q, Vector256<int> s, Vector256<sbyte> y) =>
            Avx2.MultiplyAddAdjacent(s.AsInt16(), Avx2.MultiplyAddAdjacent(q, y));
    }

    /// <summary>With VNNI: one VPDPBUSD, then one multiply by the int32 scale, in place of maddubs and madd.</summary>
    internal readonly struct Q6VnniLanes : IQ6Lanes
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Scales(byte* w, int j, out Vector256<int> s0, out Vector256<int> s1, out Vector256<int> s2, out Vector256<int> s3)
        {
            var s = Avx2.ConvertToVector256Int32((sbyte*)(w + 192 + 8 * j));
            s0 = Avx2.PermuteVar8x32(s, Vector256.Create(0, 0, 0, 0, 1, 1, 1, 1));
            s1 = Avx2.PermuteVar8x32(s, Vector256.Create(2, 2, 2, 2, 3, 3, 3, 3));
            s2 = Avx2.PermuteVar8x32(s, Vector256.Create(4, 4, 4, 4, 5, 5, 5, 5));
            s3 = Avx2.PermuteVar8x32(s, Vector256.Create(6, 6, 6, 6, 7, 7, 7, 7));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Lanes(Vector256<byte> q0, Vector256<byte> q1, Vector256<byte> q2, Vector256<byte> q3,
            Vector256<int> s0, Vector256<int> s1, Vector256<int> s2, Vector256<int> s3, sbyte* y) =>
            AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, q0, Vector256.Load(y)) * s0
            + AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, q1, Vector256.Load(y + 32)) * s1
            + AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, q2, Vector256.Load(y + 64)) * s2
            + AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, q3, Vector256.Load(y + 96)) * s3;
    }

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
    /// added, times dmin, to a float beside the vector accumulator, with one FMA as GCC contracts
    /// ggml's summs += dmin·sum (separately rounded, one product in a few hundred came out a rounding
    /// off); the fifth bit is taken one plane at a time from qh.
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
            summs = MathF.FusedMultiplyAdd(dmin, prod.GetElement(0) + prod.GetElement(1) + prod.GetElement(2) + prod.GetElement(3), summs);

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

    /// <summary>A Q4_K/Q5_K super-block's eight mins times its activations' 32-value sums (from the 16-value <paramref name="bsums"/>), in four int32 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<int> MinSums(Vector128<short> mins, short* bsums)
    {
        var sums = Vector256.Load(bsums);
        return Sse2.MultiplyAddAdjacent(mins, Ssse3.HorizontalAdd(sums.GetLower(), sums.GetUpper()));
    }
}
