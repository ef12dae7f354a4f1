using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Parley.Inference.Tensors;

/// <summary>
/// Q4_K products in the summation order of llama.cpp's interleaved ("repacked") kernels, which it
/// uses on every AVX2 or better CPU for Q4_K matrices whose row count is a multiple of eight
/// (ggml_gemv/gemm_q4_K_8x8_q8_K): per super-block the scaled integer dot Σ sc_j·(q·x) and the
/// mins' Σ m_j·bsum_j are whole integers, each added with one FMA into its own accumulator,
/// acc = fma(float(isum), d·d_x, acc) and accMin = fma(float(imin), dmin·d_x, accMin), and the row's
/// value is acc − accMin. The plain row dot (<see cref="VecDotK256"/>) keeps lanes of partial sums
/// instead, which rounds differently. Integer sums are exact, so every kernel here, and the eight-row
/// tiles of <see cref="Q4_KTiles512"/>, gives the bits of <see cref="Dot"/>.
/// </summary>
internal static unsafe class Q4_KInterleaved
{
    private const int Bytes = 144;

    /// <summary>Whether llama.cpp would repack this matrix, and so which order its products follow.</summary>
    public static bool Applies(WeightMatrix w) => w.Type == GgmlType.Q4_K && w.Rows % 8 == 0;

    private static bool TilesSupported => Avx2.IsSupported && Fma.IsSupported;

    public static delegate*<byte*, byte*, int, float> RowDot => &Dot;

    public static delegate*<byte*, int, byte*, int, int, float*, int, void> Tile4x4 => TilesSupported ? &Rows4Tokens4 : null;

    public static delegate*<byte*, int, byte*, int, int, float*, int, void> Tile4x1 => TilesSupported ? &Rows4Tokens1 : null;

    public static delegate*<byte*, int, byte*, int, int, float*, int, void> Tile8x4 => Q4_KTiles512.Supported ? &Q4_KTiles512.Rows8Tokens4 : null;

    public static delegate*<byte*, int, byte*, int, int, float*, int, void> Tile8x8 => Q4_KTiles512.Supported ? &Q4_KTiles512.Rows8Tokens8 : null;

    /// <summary>One row against one activation row, scalar: the reference for the order.</summary>
    public static float Dot(byte* w, byte* a, int k)
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
            }

            for (int j = 0; j < 8; j++) imin += sc[8 + j] * (bsums[16 * b + 2 * j] + bsums[16 * b + 2 * j + 1]);
            acc = MathF.FusedMultiplyAdd(isum, Fp16.ToFloat(*(ushort*)w) * yd[b], acc);
            accMin = MathF.FusedMultiplyAdd(imin, Fp16.ToFloat(*(ushort*)(w + 2)) * yd[b], accMin);
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
    private static void Rows4Tokens4(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
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
                }

                var mins = ms.GetUpper();
                var imin = Sums(VecDotK256.MinSums(mins, (short*)(a0 + 4 * nb) + 16 * b), VecDotK256.MinSums(mins, (short*)(a1 + 4 * nb) + 16 * b),
                    VecDotK256.MinSums(mins, (short*)(a2 + 4 * nb) + 16 * b), VecDotK256.MinSums(mins, (short*)(a3 + 4 * nb) + 16 * b));
                var dx = Vector128.Create(((float*)a0)[b], ((float*)a1)[b], ((float*)a2)[b], ((float*)a3)[b]);
                acc = Fma.MultiplyAdd(Sse2.ConvertToVector128Single(VecDot256.RowSums(i0, i1, i2, i3)), Vector128.Create(Fp16.ToFloat(*(ushort*)wr)) * dx, acc);
                accMin = Fma.MultiplyAdd(Sse2.ConvertToVector128Single(imin), Vector128.Create(Fp16.ToFloat(*(ushort*)(wr + 2))) * dx, accMin);
            }

            var v = acc - accMin;
            y[r] = v[0];
            y[yStride + r] = v[1];
            y[2 * yStride + r] = v[2];
            y[3 * yStride + r] = v[3];
        }
    }
}
