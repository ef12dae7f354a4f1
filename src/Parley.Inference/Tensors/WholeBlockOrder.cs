using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Parley.Inference.Tensors.X86;

namespace Parley.Inference.Tensors;

/// <summary>
/// Products in the summation order of llama.cpp's interleaved ("repacked") kernels: each block's
/// whole integer dot is converted once and added with one FMA, acc = fma(float(Σ w·x), d_w·d_x, acc),
/// block after block, with no lanes to reduce at the end. The plain row dot (<see cref="VecDot256"/>)
/// keeps eight partial sums instead, which rounds differently. Integer sums are exact, so every
/// kernel gives the bits of its type's scalar reference (<see cref="Dot{TB}"/>, <see cref="Scalar.VecDotScalar.Q6_K"/>).
/// Two kinds of matrix take this order:
/// <list type="bullet">
/// <item>Q4_0 matrices whose row count is a multiple of eight, because llama.cpp repacks them on
/// every AVX2 or better CPU (ggml_gemv/gemm_q4_0_8x8_q8_0), so their results are its;</item>
/// <item>Q6_K matrices, all of them: the whole integer meets the reference bounds as ggml's eight
/// lanes do, and lets rows side by side share each multiply (<see cref="Q6_KWholeBlock"/>);</item>
/// <item>Q8_0 matrices whose products are the logits: nothing is quantized after them, so
/// the order moves a logit by float rounding only (at most 6e-6 from llama.cpp's on the Q8_0 test
/// models), where in a layer the same difference crosses activation-rounding boundaries downstream
/// and moved Q8_0 logits by up to 0.07. With a small model's large vocabulary the logits are most of
/// a decode step, and this order's tiles are faster: Q8_0 8×8 1.45× the ggml-order 8×4.</item>
/// </list>
/// </summary>
internal static unsafe class WholeBlockOrder
{
    /// <summary>
    /// Whether a product of <paramref name="w"/> follows this order; <paramref name="logits"/>: whether
    /// it gives the logits. Q8_0 logits take it only for speed, so only where its vector kernels run
    /// (AVX-VNNI): elsewhere ggml's order has the faster row dots.
    /// </summary>
    public static bool Applies(WeightMatrix w, bool logits) =>
        (w.Type == GgmlType.Q4_0 && w.Rows % 8 == 0) || w.Type == GgmlType.Q6_K || (w.Type == GgmlType.Q8_0 && logits && TilesSupported);

    public static bool TilesSupported => Block32Vnni.Supported;

    /// <summary>The row dot at <paramref name="level"/>: vectorized from Vector256 on, else the scalar reference.</summary>
    public static delegate*<byte*, byte*, int, float> RowDot(GgmlType type, KernelLevel level) => (type, level >= KernelLevel.Vector256) switch
    {
        (GgmlType.Q4_0, true) => &VectorDot<Block32Vnni.Q4_0Block>,
        (GgmlType.Q4_0, false) => &Dot<Block32Vnni.Q4_0Block>,
        (GgmlType.Q8_0, true) => &VectorDot<Block32Vnni.Q8_0Block>,
        (GgmlType.Q8_0, false) => &Dot<Block32Vnni.Q8_0Block>,
        _ => level >= KernelLevel.Vector256 && Avx2.IsSupported && Fma.IsSupported ? &Q6_KWholeBlock.VectorDot : &Scalar.VecDotScalar.Q6_K,
    };

    /// <summary>Q6_K on AVX-512 without AVX-VNNI: its eight-row tiles by maddubs (<see cref="X86.Q6_KRows8Avx512"/>).</summary>
    private static bool Q6_KMaddubs(GgmlType type, KernelLevel level) =>
        type == GgmlType.Q6_K && !TilesSupported && level >= KernelLevel.Vector512 && X86.Q6_KRows8Avx512.Supported;

    /// <summary>Q4_0 without AVX-VNNI: its eight-row tiles by maddubs (<see cref="X86.Q4_0WholeBlockAvx2"/>).</summary>
    private static bool Q4_0Avx2(GgmlType type) => type == GgmlType.Q4_0 && !TilesSupported && X86.Q4_0WholeBlockAvx2.Supported;

    public static delegate*<byte*, int, byte*, int, int, float*, int, void> Tile4x4(GgmlType type) => Q4_0Avx2(type) ? &X86.Q4_0WholeBlockAvx2.Rows4Tokens4
        : type == GgmlType.Q6_K ? (Avx2.IsSupported && Fma.IsSupported ? &Q6_KWholeBlock.Rows4Tokens4 : null) : !TilesSupported ? null : type switch
    {
        GgmlType.Q4_0 => &Rows4Tokens4<Block32Vnni.Q4_0Block>,
        GgmlType.Q8_0 => &Rows4Tokens4<Block32Vnni.Q8_0Block>,
        _ => &Q6_KWholeBlock.Rows4Tokens4,
    };

    public static delegate*<byte*, int, byte*, int, int, float*, int, void> Tile4x1(GgmlType type, KernelLevel level) => Q4_0Avx2(type) ? &X86.Q4_0WholeBlockAvx2.Rows4Tokens1
        : type == GgmlType.Q6_K ? (!Avx2.IsSupported || !Fma.IsSupported ? null
            : !TilesSupported && level >= KernelLevel.Vector512 && X86.Q6_KAvx512.Supported ? &X86.Q6_KAvx512.Rows4Tokens1 : &Q6_KWholeBlock.Rows4Tokens1)
        : !TilesSupported ? null : type switch
    {
        GgmlType.Q4_0 => &Rows4Tokens1<Block32Vnni.Q4_0Block>,
        GgmlType.Q8_0 => &Rows4Tokens1<Block32Vnni.Q8_0Block>,
        _ => &Q6_KWholeBlock.Rows4Tokens1,
    };

    public static delegate*<byte*, int, byte*, int, int, float*, int, void> Tile8x1(GgmlType type, KernelLevel level) => Q4_0Avx2(type) ? &X86.Q4_0WholeBlockAvx2.Rows8Tokens1 : level < KernelLevel.Vector512 || !Block32WholeBlockAvx512.Supported ? null : type switch
    {
        GgmlType.Q4_0 => &Block32WholeBlockAvx512.Rows8Tokens1<Block32Vnni.Q4_0Block>,
        GgmlType.Q8_0 => &Block32WholeBlockAvx512.Rows8Tokens1<Block32Vnni.Q8_0Block>,
        _ => null, // Q6_K: its 4×1 tile (which says why)
    };

    public static delegate*<byte*, int, byte*, int, int, float*, int, void> Tile8x4(GgmlType type, KernelLevel level) => Q4_0Avx2(type) ? &X86.Q4_0WholeBlockAvx2.Rows8Tokens4
        : Q6_KMaddubs(type, level) ? &X86.Q6_KRows8Avx512.Rows8Tokens4 : level < KernelLevel.Vector512 || !Block32WholeBlockAvx512.Supported ? null : type switch
    {
        GgmlType.Q4_0 => &Block32WholeBlockAvx512.Rows8Tokens4<Block32Vnni.Q4_0Block>,
        GgmlType.Q8_0 => &Block32WholeBlockAvx512.Rows8Tokens4<Block32Vnni.Q8_0Block>,
        _ => &Q6_KWholeBlock.Rows8Tokens4,
    };

    public static delegate*<byte*, int, byte*, int, int, float*, int, void> Tile8x8(GgmlType type, KernelLevel level) =>
        Q6_KMaddubs(type, level) ? &X86.Q6_KRows8Avx512.Rows8Tokens8 : level < KernelLevel.Vector512 || !Block32WholeBlockAvx512.Supported ? null : type switch
    {
        GgmlType.Q4_0 => &Block32WholeBlockAvx512.Rows8Tokens8<Block32Vnni.Q4_0Block>,
        GgmlType.Q8_0 => &Block32WholeBlockAvx512.Rows8Tokens8<Block32Vnni.Q8_0Block>,
        _ => &Q6_KWholeBlock.Rows8Tokens8,
    };

    /// <summary>One row against one activation row, scalar: the reference for the order.</summary>
    public static float Dot<TB>(byte* w, byte* a, int k)
        where TB : struct, Block32Vnni.IBlock
    {
        int nb = k / 32;
        float* d = (float*)a;
        sbyte* q8 = (sbyte*)(a + ActivationLayout.QsOffset(DotType.Q8, k));
        float acc = 0;
        for (int b = 0; b < nb; b++, w += TB.Bytes, q8 += 32)
        {
            acc = MathF.FusedMultiplyAdd(TB.IntDot(w, q8), Fp16.ToFloat(*(ushort*)w) * d[b], acc);
        }

        return acc;
    }

    /// <summary>
    /// One row with AVX2 alone: each block's integer dot by ggml's sign trick (maddubs of |w| with x
    /// signed like w, exact for quants in ±127), summed across lanes. Where a CPU lacks AVX-VNNI (and
    /// so the tiles), every row of a Q4_0 matrix in this order takes it.
    /// </summary>
    private static float VectorDot<TB>(byte* w, byte* a, int k)
        where TB : struct, Block32Vnni.IBlock
    {
        int nb = k / 32;
        float* d = (float*)a;
        sbyte* q8 = (sbyte*)(a + ActivationLayout.QsOffset(DotType.Q8, k));
        float acc = 0;
        for (int b = 0; b < nb; b++, w += TB.Bytes, q8 += 32)
        {
            var s = TB.Signed(w);
            var pairs = Avx2.MultiplyAddAdjacent(Avx2.Abs(s), Avx2.Sign(Vector256.Load(q8), s));
            int sum = Vector256.Sum(Avx2.MultiplyAddAdjacent(pairs, Vector256<short>.One));
            acc = MathF.FusedMultiplyAdd(sum, Fp16.ToFloat(*(ushort*)w) * d[b], acc);
        }

        return acc;
    }

    /// <summary>Block b's integer dots of four rows with one activation row (VPDPBUSD on the biased nibbles, as in <see cref="Block32Vnni"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> BlockSums<TB>(Vector256<byte> u0, Vector256<byte> u1, Vector256<byte> u2, Vector256<byte> u3, byte* a, int qo, int so, int b)
        where TB : struct, Block32Vnni.IBlock
    {
        var x = Vector256.Load((sbyte*)(a + qo) + 32 * b);
        var s = Vector256.Load((int*)(a + so) + 8 * b) << TB.BiasShift;
        return VecDot256.RowSums(AvxVnni.MultiplyWideningAndAdd(s, u0, x), AvxVnni.MultiplyWideningAndAdd(s, u1, x),
            AvxVnni.MultiplyWideningAndAdd(s, u2, x), AvxVnni.MultiplyWideningAndAdd(s, u3, x));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Step(Vector128<float> acc, Vector128<int> sums, Vector128<float> dw, byte* a, int b) =>
        Fma.MultiplyAdd(Sse2.ConvertToVector128Single(sums), dw * Vector128.Create(((float*)a)[b]), acc);

    private static void Rows4Tokens1<TB>(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
        where TB : struct, Block32Vnni.IBlock
    {
        int nb = k / 32;
        int qo = ActivationLayout.QsOffset(DotType.Q8, k), so = ActivationLayout.QuadSumsOffset(k);
        byte* w0 = w, w1 = w + wStride, w2 = w + 2 * wStride, w3 = w + 3 * wStride;
        var acc = Vector128<float>.Zero;
        for (int b = 0; b < nb; b++)
        {
            var sums = BlockSums<TB>(TB.Unsigned(w0), TB.Unsigned(w1),
                TB.Unsigned(w2), TB.Unsigned(w3), a, qo, so, b);
            acc = Step(acc, sums, Block32Vnni.Scales(w0, w1, w2, w3).GetLower(), a, b);
            w0 += TB.Bytes;
            w1 += TB.Bytes;
            w2 += TB.Bytes;
            w3 += TB.Bytes;
        }

        acc.Store(y);
    }

    private static void Rows4Tokens4<TB>(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
        where TB : struct, Block32Vnni.IBlock
    {
        int nb = k / 32;
        int qo = ActivationLayout.QsOffset(DotType.Q8, k), so = ActivationLayout.QuadSumsOffset(k);
        byte* w0 = w, w1 = w + wStride, w2 = w + 2 * wStride, w3 = w + 3 * wStride;
        byte* a0 = a, a1 = a + aStride, a2 = a + 2 * aStride, a3 = a + 3 * aStride;
        Vector128<float> c0 = default, c1 = default, c2 = default, c3 = default;
        for (int b = 0; b < nb; b++)
        {
            var u0 = TB.Unsigned(w0);
            var u1 = TB.Unsigned(w1);
            var u2 = TB.Unsigned(w2);
            var u3 = TB.Unsigned(w3);
            var dw = Block32Vnni.Scales(w0, w1, w2, w3).GetLower();
            c0 = Step(c0, BlockSums<TB>(u0, u1, u2, u3, a0, qo, so, b), dw, a0, b);
            c1 = Step(c1, BlockSums<TB>(u0, u1, u2, u3, a1, qo, so, b), dw, a1, b);
            c2 = Step(c2, BlockSums<TB>(u0, u1, u2, u3, a2, qo, so, b), dw, a2, b);
            c3 = Step(c3, BlockSums<TB>(u0, u1, u2, u3, a3, qo, so, b), dw, a3, b);
            w0 += TB.Bytes;
            w1 += TB.Bytes;
            w2 += TB.Bytes;
            w3 += TB.Bytes;
        }

        c0.Store(y);
        c1.Store(y + yStride);
        c2.Store(y + 2 * yStride);
        c3.Store(y + 3 * yStride);
    }
}
