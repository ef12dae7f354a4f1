using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Parley.Inference.Tensors.X86;

/// <summary>
/// What the Q4_K kernels share: a super-block's header (d, dmin, and the eight 6-bit scales and mins
/// packed in twelve bytes) unpacked in vector registers, the mins' Σ m·bsum, the whole-super-block
/// steps (each (row, token) adds its super-block's integer sums with one FMA each, in
/// <see cref="VecDotScalar"/>'s Q4_K order, llama.cpp's repacked gemv order), and the row dot and the
/// single-token 4×1 tile around either width's row-major integer dots. The multi-token tiles put rows
/// side by side instead (<see cref="Q4_KRows4Avx2"/>, <see cref="Q4_KRows8Avx512"/>).
/// </summary>
internal static unsafe class Q4_KHeader
{
    public const int Bytes = 144;

    /// <summary>Bytes 0..7 the eight 6-bit scales, 8..15 the eight mins (ggml's get_scale_min_k4), computed in one register.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<byte> ScalesMins(byte* w)
    {
        // Lanes of the header: [d|dmin, u0, u1, u2]; the result's: [u0 & 3f, (u2 & 0f) | (u0 >> 6) << 4, u1 & 3f, (u2 >> 4 & 0f) | (u1 >> 6) << 4].
        var h = Vector128.Load((uint*)w);
        var a = Avx2.ShiftRightLogicalVariable(Sse2.Shuffle(h, 0b11_10_11_01), Vector128.Create(0u, 0, 0, 4));
        var b = Sse2.Shuffle(h, 0b10_10_01_01) >>> 2;
        return ((a & Vector128.Create(0x3f3f3f3fu, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f)) | (b & Vector128.Create(0u, 0x30303030, 0, 0x30303030))).AsByte();
    }

    /// <summary>Four rows' d and dmin of a super-block: [d0, dmin0, d1, dmin1, …].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Halves4(byte* w0, int stride) =>
        Fp16.ToFloat(Vector128.Create(*(uint*)w0, *(uint*)(w0 + stride), *(uint*)(w0 + 2 * stride), *(uint*)(w0 + 3 * stride)).AsUInt16());

    /// <summary>The mins' integer Σ m·bsum of a super-block's four rows (rows in lanes) against one token's 16-value sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<int> Mins4(byte* w0, int stride, short* bsums)
    {
        var pairs = BsumPairs(bsums);
        var m0 = Sse2.MultiplyAddAdjacent(Sse41.ConvertToVector128Int16(Sse2.ShiftRightLogical128BitLane(ScalesMins(w0), 8)), pairs);
        var m1 = Sse2.MultiplyAddAdjacent(Sse41.ConvertToVector128Int16(Sse2.ShiftRightLogical128BitLane(ScalesMins(w0 + stride), 8)), pairs);
        var m2 = Sse2.MultiplyAddAdjacent(Sse41.ConvertToVector128Int16(Sse2.ShiftRightLogical128BitLane(ScalesMins(w0 + 2 * stride), 8)), pairs);
        var m3 = Sse2.MultiplyAddAdjacent(Sse41.ConvertToVector128Int16(Sse2.ShiftRightLogical128BitLane(ScalesMins(w0 + 3 * stride), 8)), pairs);
        return Ssse3.HorizontalAdd(Ssse3.HorizontalAdd(m0, m1), Ssse3.HorizontalAdd(m2, m3));
    }

    /// <summary>A row's eight mins as words, from its <see cref="ScalesMins"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<short> MinWords(Vector128<byte> scalesMins) => Sse41.ConvertToVector128Int16(Sse2.ShiftRightLogical128BitLane(scalesMins, 8));

    /// <summary>The four rows' d (lanes 0, 2, 4, 6 of a <see cref="Halves4"/> product) in lanes 0..3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<float> Ds(Vector256<float> dd) => Avx2.PermuteVar8x32(dd, Vector256.Create(0, 2, 4, 6, 0, 2, 4, 6)).GetLower();

    /// <summary>The four rows' dmin (lanes 1, 3, 5, 7) in lanes 0..3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<float> Dmins(Vector256<float> dd) => Avx2.PermuteVar8x32(dd, Vector256.Create(1, 3, 5, 7, 1, 3, 5, 7)).GetLower();

    /// <summary>acc + float(sums) × scales, lane by lane: a super-block's step of four (row, token) sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<float> Step(Vector128<float> acc, Vector128<int> sums, Vector128<float> scales) =>
        Fma.MultiplyAdd(Sse2.ConvertToVector128Single(sums), scales, acc);

    /// <summary>The mins' integer Σ m·bsum of one row's super-block against one token's 16-value sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Mins(Vector128<byte> scalesMins, short* bsums)
    {
        var m = Sse2.MultiplyAddAdjacent(Sse41.ConvertToVector128Int16(Sse2.ShiftRightLogical128BitLane(scalesMins, 8)), BsumPairs(bsums));
        var h = Ssse3.HorizontalAdd(m, m);
        return Ssse3.HorizontalAdd(h, h).ToScalar();
    }

    /// <summary>One row against one token (rows that the four-row tiles leave), with <typeparamref name="TI"/>'s vectors.</summary>
    internal static float Dot<TI>(byte* w, byte* a, int k) where TI : struct, IQ4KBlocks
    {
        int nb = k / 256;
        float* xd = (float*)a;
        short* bsums = (short*)(a + 4 * nb);
        sbyte* qs = (sbyte*)(a + ActivationLayout.QsOffset(DotType.Q8K, k));
        float acc = 0, accMin = 0;
        for (int b = 0; b < nb; b++, w += Bytes)
        {
            acc = MathF.FusedMultiplyAdd(TI.BlockSum(w, qs + 256 * b), Fp16.ToFloat(*(ushort*)w) * xd[b], acc);
            accMin = MathF.FusedMultiplyAdd(Mins(ScalesMins(w), bsums + 16 * b), Fp16.ToFloat(*(ushort*)(w + 2)) * xd[b], accMin);
        }

        return acc - accMin;
    }

    /// <summary>Four rows against one token, rows in lanes, with <typeparamref name="TI"/>'s vectors.</summary>
    internal static void Rows4Tokens1<TI>(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride) where TI : struct, IQ4KBlocks
    {
        int nb = k / 256;
        float* xd = (float*)a;
        short* bsums = (short*)(a + 4 * nb);
        sbyte* qs = (sbyte*)(a + ActivationLayout.QsOffset(DotType.Q8K, k));
        Vector128<float> acc = default, accMin = default;
        byte* start = w;
        int span = RowPrefetch.Span(wStride, nb);
        for (int b = 0; b < nb; b++, w += Bytes)
        {
            RowPrefetch.Next4(start, wStride, b, span);
            var dd = Halves4(w, wStride) * Vector256.Create(xd[b]);
            acc = Step(acc, TI.BlockSums4(w, wStride, qs + 256 * b), Ds(dd));
            accMin = Step(accMin, Mins4(w, wStride, bsums + 16 * b), Dmins(dd));
        }

        (acc - accMin).Store(y);
    }

    /// <summary>The eight 32-value sums of a token's super-block, from its sixteen 16-value sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<short> BsumPairs(short* bsums) => Ssse3.HorizontalAdd(Vector128.Load(bsums), Vector128.Load(bsums + 8));
}

/// <summary>What the kernels of <see cref="Q4_KHeader"/> need of a vector width: a super-block's integer dots.</summary>
internal unsafe interface IQ4KBlocks
{
    /// <summary>One row's super-block against one token.</summary>
    static abstract int BlockSum(byte* w, sbyte* x);

    /// <summary>Four rows' super-blocks (rows apart by the stride) against one token, rows in lanes.</summary>
    static abstract Vector128<int> BlockSums4(byte* w, int stride, sbyte* x);
}

/// <summary>
/// Which of llama.cpp's two repacked Q4_K orders a kernel follows. ggml_gemv_q4_K_8x8_q8_K adds each
/// super-block's integer sums with one FMA; ggml_gemm_q4_K_8x8_q8_K, which takes a sequence's tokens
/// four at a time (all of a prompt chunk's but the last count % 4), one per pair of sub-blocks.
/// </summary>
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
