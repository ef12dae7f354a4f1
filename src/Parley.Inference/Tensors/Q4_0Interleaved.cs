using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Parley.Inference.Tensors;

/// <summary>
/// Q4_0 products in the summation order of llama.cpp's interleaved ("repacked") kernels, which it
/// uses on every AVX2 or better CPU for Q4_0 matrices whose row count is a multiple of eight
/// (ggml_gemv/gemm_q4_0_8x8_q8_0): each block's whole integer dot is converted once and added with
/// one FMA, acc = fma(float(Σ w·x), d_w·d_x, acc), block after block, with no lanes to reduce at the
/// end. The plain row dot (<see cref="VecDot256"/>) keeps eight partial sums instead, which rounds
/// differently. Integer sums are exact, so every kernel here gives the bits of <see cref="Dot"/>.
/// </summary>
internal static unsafe class Q4_0Interleaved
{
    /// <summary>Whether llama.cpp would repack this matrix, and so which order its products follow.</summary>
    public static bool Applies(WeightMatrix w) => w.Type == GgmlType.Q4_0 && w.Rows % 8 == 0;

    public static bool TilesSupported => TileDot256.Supported;

    public static delegate*<byte*, byte*, int, float> RowDot => &Dot;

    public static delegate*<byte*, int, byte*, int, int, float*, int, void> Tile4x4 => TilesSupported ? &Rows4Tokens4 : null;

    public static delegate*<byte*, int, byte*, int, int, float*, int, void> Tile4x1 => TilesSupported ? &Rows4Tokens1 : null;

    public static delegate*<byte*, int, byte*, int, int, float*, int, void> Tile8x4 => Q4_0Tiles512.Supported ? &Q4_0Tiles512.Rows8Tokens4 : null;

    public static delegate*<byte*, int, byte*, int, int, float*, int, void> Tile8x8 => Q4_0Tiles512.Supported ? &Q4_0Tiles512.Rows8Tokens8 : null;

    /// <summary>One row against one activation row, scalar: the reference for the order.</summary>
    public static float Dot(byte* w, byte* a, int k)
    {
        int nb = k / 32;
        float* d = (float*)a;
        sbyte* q8 = (sbyte*)(a + ActivationLayout.QsOffset(DotType.Q8, k));
        float acc = 0;
        for (int b = 0; b < nb; b++, w += 18, q8 += 32)
        {
            byte* qs = w + 2;
            int sum = 0;
            for (int j = 0; j < 16; j++) sum += ((qs[j] & 0xF) - 8) * q8[j] + ((qs[j] >> 4) - 8) * q8[j + 16];
            acc = MathF.FusedMultiplyAdd(sum, Fp16.ToFloat(*(ushort*)w) * d[b], acc);
        }

        return acc;
    }

    /// <summary>Block b's integer dots of four rows with one activation row (VPDPBUSD on the biased nibbles, as in <see cref="TileDot256"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> BlockSums(Vector256<byte> u0, Vector256<byte> u1, Vector256<byte> u2, Vector256<byte> u3, byte* a, int qo, int so, int b)
    {
        var x = Vector256.Load((sbyte*)(a + qo) + 32 * b);
        var s = Vector256.Load((int*)(a + so) + 8 * b) << TileDot256.Q4_0Block.BiasShift;
        return VecDot256.RowSums(AvxVnni.MultiplyWideningAndAdd(s, u0, x), AvxVnni.MultiplyWideningAndAdd(s, u1, x),
            AvxVnni.MultiplyWideningAndAdd(s, u2, x), AvxVnni.MultiplyWideningAndAdd(s, u3, x));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Step(Vector128<float> acc, Vector128<int> sums, Vector128<float> dw, byte* a, int b) =>
        Fma.MultiplyAdd(Sse2.ConvertToVector128Single(sums), dw * Vector128.Create(((float*)a)[b]), acc);

    private static void Rows4Tokens1(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
    {
        int nb = k / 32;
        int qo = ActivationLayout.QsOffset(DotType.Q8, k), so = ActivationLayout.QuadSumsOffset(k);
        byte* w0 = w, w1 = w + wStride, w2 = w + 2 * wStride, w3 = w + 3 * wStride;
        var acc = Vector128<float>.Zero;
        for (int b = 0; b < nb; b++)
        {
            var sums = BlockSums(TileDot256.Q4_0Block.Unsigned(w0), TileDot256.Q4_0Block.Unsigned(w1),
                TileDot256.Q4_0Block.Unsigned(w2), TileDot256.Q4_0Block.Unsigned(w3), a, qo, so, b);
            acc = Step(acc, sums, TileDot256.Scales(w0, w1, w2, w3).GetLower(), a, b);
            w0 += 18;
            w1 += 18;
            w2 += 18;
            w3 += 18;
        }

        acc.Store(y);
    }

    private static void Rows4Tokens4(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
    {
        int nb = k / 32;
        int qo = ActivationLayout.QsOffset(DotType.Q8, k), so = ActivationLayout.QuadSumsOffset(k);
        byte* w0 = w, w1 = w + wStride, w2 = w + 2 * wStride, w3 = w + 3 * wStride;
        byte* a0 = a, a1 = a + aStride, a2 = a + 2 * aStride, a3 = a + 3 * aStride;
        Vector128<float> c0 = default, c1 = default, c2 = default, c3 = default;
        for (int b = 0; b < nb; b++)
        {
            var u0 = TileDot256.Q4_0Block.Unsigned(w0);
            var u1 = TileDot256.Q4_0Block.Unsigned(w1);
            var u2 = TileDot256.Q4_0Block.Unsigned(w2);
            var u3 = TileDot256.Q4_0Block.Unsigned(w3);
            var dw = TileDot256.Scales(w0, w1, w2, w3).GetLower();
            c0 = Step(c0, BlockSums(u0, u1, u2, u3, a0, qo, so, b), dw, a0, b);
            c1 = Step(c1, BlockSums(u0, u1, u2, u3, a1, qo, so, b), dw, a1, b);
            c2 = Step(c2, BlockSums(u0, u1, u2, u3, a2, qo, so, b), dw, a2, b);
            c3 = Step(c3, BlockSums(u0, u1, u2, u3, a3, qo, so, b), dw, a3, b);
            w0 += 18;
            w1 += 18;
            w2 += 18;
            w3 += 18;
        }

        c0.Store(y);
        c1.Store(y + yStride);
        c2.Store(y + 2 * yStride);
        c3.Store(y + 3 * yStride);
    }
}
