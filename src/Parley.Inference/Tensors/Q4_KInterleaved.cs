using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Parley.Inference.Tensors;

/// <summary>
/// Q4_K products in the summation orders of llama.cpp's interleaved ("repacked") kernels, which it
/// uses on every AVX2 or better CPU for Q4_K matrices whose row count is a multiple of eight. The
/// scaled integer dots Σ sc_j·(q·x) and the mins' Σ m_j·bsum_j are whole integers, each added with
/// an FMA into its own accumulator, acc = fma(float(isum), d·d_x, acc) and accMin = fma(float(imin),
/// dmin·d_x, accMin), and the row's value is acc − accMin. ggml_gemv_q4_K_8x8_q8_K takes one FMA
/// per super-block (<see cref="GemvOrder"/>); ggml_gemm_q4_K_8x8_q8_K, which gets a sequence's
/// tokens four at a time (all of a prompt chunk's but the last count % 4), one per pair of
/// sub-blocks (<see cref="GemmOrder"/>), which rounds differently. The plain row dot
/// (<see cref="VecDotK256"/>) keeps lanes of partial sums instead. Integer sums are exact, so every
/// kernel here, and the eight-row tiles of <see cref="Q4_KTiles512"/>, gives the bits of its order's
/// scalar reference (<see cref="Dot"/>, <see cref="GemmDot"/>).
/// </summary>
internal static unsafe class Q4_KInterleaved
{
    private const int Bytes = 144;

    /// <summary>Whether llama.cpp would repack this matrix, and so which order its products follow.</summary>
    public static bool Applies(WeightMatrix w) => w.Type == GgmlType.Q4_K && w.Rows % 8 == 0;

    private static bool TilesSupported => Avx2.IsSupported && Fma.IsSupported;

    public static delegate*<byte*, byte*, int, float> RowDot => &Dot;

    public static delegate*<byte*, int, byte*, int, int, float*, int, void> Tile4x4 => TilesSupported ? &Rows4Tokens4<GemvOrder> : null;

    public static delegate*<byte*, int, byte*, int, int, float*, int, void> Tile4x1 => TilesSupported ? &Rows4Tokens1 : null;

    public static delegate*<byte*, int, byte*, int, int, float*, int, void> Tile8x4 => Q4_KTiles512.Supported ? &Q4_KTiles512.Rows8Tokens4<GemvOrder> : null;

    public static delegate*<byte*, int, byte*, int, int, float*, int, void> Tile8x8 => Q4_KTiles512.Supported ? &Q4_KTiles512.Rows8Tokens8<GemvOrder> : null;

    /// <summary>The gemm order's kernels, for tokens that llama.cpp's gemm takes: four or eight at a time, no single-token tiles.</summary>
    public static delegate*<byte*, byte*, int, float> GemmRowDot => &GemmDot;

    public static delegate*<byte*, int, byte*, int, int, float*, int, void> GemmTile4x4 => TilesSupported ? &Rows4Tokens4<GemmOrder> : null;

    public static delegate*<byte*, int, byte*, int, int, float*, int, void> GemmTile8x4 => Q4_KTiles512.Supported ? &Q4_KTiles512.Rows8Tokens4<GemmOrder> : null;

    public static delegate*<byte*, int, byte*, int, int, float*, int, void> GemmTile8x8 => Q4_KTiles512.Supported ? &Q4_KTiles512.Rows8Tokens8<GemmOrder> : null;

    /// <summary>One row against one activation row in the gemv order, scalar: its reference.</summary>
    public static float Dot(byte* w, byte* a, int k) => Reference<GemvOrder>(w, a, k);

    /// <summary>One row against one activation row in the gemm order, scalar: its reference.</summary>
    public static float GemmDot(byte* w, byte* a, int k) => Reference<GemmOrder>(w, a, k);

    private static float Reference<TO>(byte* w, byte* a, int k) where TO : struct, IQ4KOrder
    {
        int nb = k / 256;
        float* yd = (float*)a;
        short* bsums = (short*)(a + 4 * nb);
        sbyte* qs = (sbyte*)(a + ActivationLayout.QsOffset(DotType.Q8K, k));
        float acc = 0, accMin = 0;
        var sc = stackalloc int[16];
        for (int b = 0; b < nb; b++, w += Bytes)
        {
            for (int j = 0; j < 8; j++) Dequantize.ScaleMinK4(j, w + 4, out sc[j], out sc[8 + j]); // scales 0..7, mins 8..15
            float d = Fp16.ToFloat(*(ushort*)w) * yd[b], dmin = Fp16.ToFloat(*(ushort*)(w + 2)) * yd[b];
            short* bs = bsums + 16 * b;
            int isum = 0, imin = 0;
            byte* q4 = w + 16;
            sbyte* q8 = qs + 256 * b;
            for (int j = 0; j < 4; j++, q4 += 32, q8 += 64)
            {
                int lo = 0, hi = 0;
                for (int l = 0; l < 32; l++)
                {
                    lo += (q4[l] & 0xF) * q8[l];
                    hi += (q4[l] >> 4) * q8[l + 32];
                }

                isum += sc[2 * j] * lo + sc[2 * j + 1] * hi;
                imin += sc[8 + 2 * j] * (bs[4 * j] + bs[4 * j + 1]) + sc[9 + 2 * j] * (bs[4 * j + 2] + bs[4 * j + 3]);
                if (!TO.PerPair) continue;
                acc = MathF.FusedMultiplyAdd(isum, d, acc);
                accMin = MathF.FusedMultiplyAdd(imin, dmin, accMin);
                isum = imin = 0;
            }

            if (TO.PerPair) continue;
            acc = MathF.FusedMultiplyAdd(isum, d, acc);
            accMin = MathF.FusedMultiplyAdd(imin, dmin, accMin);
        }

        return acc - accMin;
    }

    /// <summary>The whole sums of four vectors of four int32 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Sums(Vector128<int> v0, Vector128<int> v1, Vector128<int> v2, Vector128<int> v3) =>
        Ssse3.HorizontalAdd(Ssse3.HorizontalAdd(v0, v1), Ssse3.HorizontalAdd(v2, v3));

    /// <summary>Four rows (lanes) against one activation row.</summary>
    private static void Rows4Tokens1(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
    {
        int nb = k / 256;
        float* yd = (float*)a;
        short* bsums = (short*)(a + 4 * nb);
        sbyte* qs = (sbyte*)(a + ActivationLayout.QsOffset(DotType.Q8K, k));
        byte* w0 = w, w1 = w + wStride, w2 = w + 2 * wStride, w3 = w + 3 * wStride;
        Vector128<float> acc = default, accMin = default;
        for (int b = 0; b < nb; b++)
        {
            sbyte* q8 = qs + 256 * b;
            short* bs = bsums + 16 * b;
            var ms0 = VecDotK256.ScalesAndMins(w0);
            var ms1 = VecDotK256.ScalesAndMins(w1);
            var ms2 = VecDotK256.ScalesAndMins(w2);
            var ms3 = VecDotK256.ScalesAndMins(w3);
            var isum = VecDot256.RowSums(VecDotK256.Q4KScaledSums(w0 + 16, q8, ms0.GetLower().AsByte()), VecDotK256.Q4KScaledSums(w1 + 16, q8, ms1.GetLower().AsByte()),
                VecDotK256.Q4KScaledSums(w2 + 16, q8, ms2.GetLower().AsByte()), VecDotK256.Q4KScaledSums(w3 + 16, q8, ms3.GetLower().AsByte()));
            var imin = Sums(VecDotK256.MinSums(ms0.GetUpper(), bs), VecDotK256.MinSums(ms1.GetUpper(), bs), VecDotK256.MinSums(ms2.GetUpper(), bs), VecDotK256.MinSums(ms3.GetUpper(), bs));
            var dx = Vector128.Create(yd[b]);
            acc = Fma.MultiplyAdd(Sse2.ConvertToVector128Single(isum), TileDot256.Scales(w0, w1, w2, w3).GetLower() * dx, acc);
            accMin = Fma.MultiplyAdd(Sse2.ConvertToVector128Single(imin), TileDot256.Scales(w0 + 2, w1 + 2, w2 + 2, w3 + 2).GetLower() * dx, accMin);
            w0 += Bytes;
            w1 += Bytes;
            w2 += Bytes;
            w3 += Bytes;
        }

        (acc - accMin).Store(y);
    }

    /// <summary>
    /// Four rows against four activation rows; per row, the four tokens share a vector (lanes). Each
    /// sub-block's weights and scales are unpacked once for the four tokens.
    /// </summary>
    private static void Rows4Tokens4<TO>(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride) where TO : struct, IQ4KOrder
    {
        int nb = k / 256, qo = ActivationLayout.QsOffset(DotType.Q8K, k);
        byte* a0 = a, a1 = a + aStride, a2 = a + 2 * aStride, a3 = a + 3 * aStride;
        var m4 = Vector256.Create((byte)0x0F);
        for (int r = 0; r < 4; r++)
        {
            Vector128<float> acc = default, accMin = default;
            byte* wr = w + (long)r * wStride;
            for (int b = 0; b < nb; b++, wr += Bytes)
            {
                var ms = VecDotK256.ScalesAndMins(wr);
                var sc = ms.GetLower().AsByte();
                sbyte* x0 = (sbyte*)(a0 + qo) + 256 * b, x1 = (sbyte*)(a1 + qo) + 256 * b, x2 = (sbyte*)(a2 + qo) + 256 * b, x3 = (sbyte*)(a3 + qo) + 256 * b;
                short* b0 = (short*)(a0 + 4 * nb) + 16 * b, b1 = (short*)(a1 + 4 * nb) + 16 * b, b2 = (short*)(a2 + 4 * nb) + 16 * b, b3 = (short*)(a3 + 4 * nb) + 16 * b;
                var dx = Vector128.Create(((float*)a0)[b], ((float*)a1)[b], ((float*)a2)[b], ((float*)a3)[b]);
                var d = Vector128.Create(Fp16.ToFloat(*(ushort*)wr)) * dx;
                var dmin = Vector128.Create(Fp16.ToFloat(*(ushort*)(wr + 2))) * dx;
                Vector256<int> i0 = default, i1 = default, i2 = default, i3 = default;
                byte* q4 = wr + 16;
                for (int j = 0; j < 4; j++, q4 += 32)
                {
                    var sl = Ssse3.Shuffle(sc, VecDotK256.PairShuffle(2 * j)).AsInt16();
                    var sh = Ssse3.Shuffle(sc, VecDotK256.PairShuffle(2 * j + 1)).AsInt16();
                    var scaleL = Vector256.Create(sl, sl);
                    var scaleH = Vector256.Create(sh, sh);
                    var bits = Vector256.Load(q4);
                    var lo = bits & m4;
                    var hi = (bits.AsUInt16() >>> 4).AsByte() & m4;
                    int o = 64 * j;
                    i0 += Avx2.MultiplyAddAdjacent(scaleL, Avx2.MultiplyAddAdjacent(lo, Vector256.Load(x0 + o))) + Avx2.MultiplyAddAdjacent(scaleH, Avx2.MultiplyAddAdjacent(hi, Vector256.Load(x0 + o + 32)));
                    i1 += Avx2.MultiplyAddAdjacent(scaleL, Avx2.MultiplyAddAdjacent(lo, Vector256.Load(x1 + o))) + Avx2.MultiplyAddAdjacent(scaleH, Avx2.MultiplyAddAdjacent(hi, Vector256.Load(x1 + o + 32)));
                    i2 += Avx2.MultiplyAddAdjacent(scaleL, Avx2.MultiplyAddAdjacent(lo, Vector256.Load(x2 + o))) + Avx2.MultiplyAddAdjacent(scaleH, Avx2.MultiplyAddAdjacent(hi, Vector256.Load(x2 + o + 32)));
                    i3 += Avx2.MultiplyAddAdjacent(scaleL, Avx2.MultiplyAddAdjacent(lo, Vector256.Load(x3 + o))) + Avx2.MultiplyAddAdjacent(scaleH, Avx2.MultiplyAddAdjacent(hi, Vector256.Load(x3 + o + 32)));
                    if (!TO.PerPair) continue;
                    // The pair's mins: sixteen-value sums 4j..4j+3 against mins 2j and 2j+1.
                    var pairMins = Vector128.Create(PairMins(ms, b0, j), PairMins(ms, b1, j), PairMins(ms, b2, j), PairMins(ms, b3, j));
                    acc = Fma.MultiplyAdd(Sse2.ConvertToVector128Single(VecDot256.RowSums(i0, i1, i2, i3)), d, acc);
                    accMin = Fma.MultiplyAdd(Sse2.ConvertToVector128Single(pairMins), dmin, accMin);
                    i0 = i1 = i2 = i3 = default;
                }

                if (TO.PerPair) continue;
                var mins = ms.GetUpper();
                var imin = Sums(VecDotK256.MinSums(mins, b0), VecDotK256.MinSums(mins, b1), VecDotK256.MinSums(mins, b2), VecDotK256.MinSums(mins, b3));
                acc = Fma.MultiplyAdd(Sse2.ConvertToVector128Single(VecDot256.RowSums(i0, i1, i2, i3)), d, acc);
                accMin = Fma.MultiplyAdd(Sse2.ConvertToVector128Single(imin), dmin, accMin);
            }

            var v = acc - accMin;
            y[r] = v[0];
            y[yStride + r] = v[1];
            y[2 * yStride + r] = v[2];
            y[3 * yStride + r] = v[3];
        }
    }

    /// <summary>Mins 2j and 2j+1 (int16 lanes 8+2j, 9+2j of <paramref name="ms"/>) times the token's 32-value sums of sub-blocks 2j and 2j+1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int PairMins(Vector256<short> ms, short* bs, int j) =>
        ms.GetElement(8 + 2 * j) * (bs[4 * j] + bs[4 * j + 1]) + ms.GetElement(9 + 2 * j) * (bs[4 * j + 2] + bs[4 * j + 3]);
}

/// <summary>Which of llama.cpp's two repacked Q4_K orders a kernel follows (<see cref="Q4_KInterleaved"/>).</summary>
internal interface IQ4KOrder
{
    /// <summary>One FMA per pair of sub-blocks (gemm) rather than per super-block (gemv).</summary>
    static abstract bool PerPair { get; }
}

internal readonly struct GemvOrder : IQ4KOrder
{
    public static bool PerPair => false;
}

internal readonly struct GemmOrder : IQ4KOrder
{
    public static bool PerPair => true;
}
