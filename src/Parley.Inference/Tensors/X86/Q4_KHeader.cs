using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Parley.Inference.Tensors.X86;

/// <summary>
/// What the AVX2 and AVX-512 Q4_K kernels share: a super-block's header (d, dmin, and the eight 6-bit
/// scales and mins packed in twelve bytes) unpacked in vector registers, the mins' Σ m·bsum four rows
/// at a time, the whole-super-block steps (each (row, token) adds its super-block's integer sums with one
/// FMA each, in <see cref="VecDotScalar"/>'s Q4_K order, llama.cpp's repacked gemv order, or per pair of
/// sub-blocks in its gemm order), and the row dot and the 4×1 and 4×4 tiles around either width's integer dots.
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

    /// <summary>
    /// Four rows' tokens-in-lanes sums (acc[r] lane t) less four tokens' rows-in-lanes mins (mins[t]
    /// lane r), stored as y[t·yStride + r].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Store4x4(float* y, int yStride, Vector128<float> r0, Vector128<float> r1, Vector128<float> r2, Vector128<float> r3,
        Vector128<float> m0, Vector128<float> m1, Vector128<float> m2, Vector128<float> m3)
    {
        // Transpose rows × tokens into tokens × rows.
        var t01l = Sse.UnpackLow(r0, r1);
        var t23l = Sse.UnpackLow(r2, r3);
        var t01h = Sse.UnpackHigh(r0, r1);
        var t23h = Sse.UnpackHigh(r2, r3);
        (Sse.MoveLowToHigh(t01l, t23l) - m0).Store(y);
        (Sse.MoveHighToLow(t23l, t01l) - m1).Store(y + yStride);
        (Sse.MoveLowToHigh(t01h, t23h) - m2).Store(y + 2 * yStride);
        (Sse.MoveHighToLow(t23h, t01h) - m3).Store(y + 3 * yStride);
    }

    /// <summary>The mins' integer Σ m·bsum of one row's super-block against one token's 16-value sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Mins(Vector128<byte> scalesMins, short* bsums)
    {
        var m = Sse2.MultiplyAddAdjacent(Sse41.ConvertToVector128Int16(Sse2.ShiftRightLogical128BitLane(scalesMins, 8)), BsumPairs(bsums));
        var h = Ssse3.HorizontalAdd(m, m);
        return Ssse3.HorizontalAdd(h, h).ToScalar();
    }

    /// <summary>
    /// The gemm order's mins: for each pair j of sub-blocks, m_2j·bsum_2j + m_2j+1·bsum_2j+1 of four
    /// rows (rows in lanes, as floats) against one token's 16-value sums.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Pairs PairMins4(byte* w0, int stride, short* bsums)
    {
        var pairs = BsumPairs(bsums);
        var v0 = Sse2.ConvertToVector128Single(Sse2.MultiplyAddAdjacent(Sse41.ConvertToVector128Int16(Sse2.ShiftRightLogical128BitLane(ScalesMins(w0), 8)), pairs));
        var v1 = Sse2.ConvertToVector128Single(Sse2.MultiplyAddAdjacent(Sse41.ConvertToVector128Int16(Sse2.ShiftRightLogical128BitLane(ScalesMins(w0 + stride), 8)), pairs));
        var v2 = Sse2.ConvertToVector128Single(Sse2.MultiplyAddAdjacent(Sse41.ConvertToVector128Int16(Sse2.ShiftRightLogical128BitLane(ScalesMins(w0 + 2 * stride), 8)), pairs));
        var v3 = Sse2.ConvertToVector128Single(Sse2.MultiplyAddAdjacent(Sse41.ConvertToVector128Int16(Sse2.ShiftRightLogical128BitLane(ScalesMins(w0 + 3 * stride), 8)), pairs));
        // Rows × pairs into pairs × rows.
        var t01l = Sse.UnpackLow(v0, v1);
        var t23l = Sse.UnpackLow(v2, v3);
        var t01h = Sse.UnpackHigh(v0, v1);
        var t23h = Sse.UnpackHigh(v2, v3);
        return new Pairs(Sse.MoveLowToHigh(t01l, t23l), Sse.MoveHighToLow(t23l, t01l), Sse.MoveLowToHigh(t01h, t23h), Sse.MoveHighToLow(t23h, t01h));
    }

    /// <summary>acc + p.J0 × s, then + p.J1 × s, …: four pairs' steps in the gemm order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<float> Steps(Vector128<float> acc, in Pairs p, Vector128<float> s) =>
        Fma.MultiplyAdd(p.J3, s, Fma.MultiplyAdd(p.J2, s, Fma.MultiplyAdd(p.J1, s, Fma.MultiplyAdd(p.J0, s, acc))));

    /// <summary>A super-block's mins of four rows (rows in lanes) against one token, added to <paramref name="acc"/> by <paramref name="scale"/> in <typeparamref name="TO"/>'s order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<float> MinStep<TO>(Vector128<float> acc, byte* w0, int stride, short* bsums, Vector128<float> scale) where TO : struct, IQ4KOrder =>
        TO.PerPair ? Steps(acc, PairMins4(w0, stride, bsums), scale) : Step(acc, Mins4(w0, stride, bsums), scale);

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

    /// <summary>Four rows against four tokens in <typeparamref name="TO"/>'s order, with <typeparamref name="TI"/>'s vectors: each row's super-block unpacked once for the four.</summary>
    internal static void Rows4Tokens4<TI, TO>(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
        where TI : struct, IQ4KBlocks where TO : struct, IQ4KOrder
    {
        int nb = k / 256, qo = ActivationLayout.QsOffset(DotType.Q8K, k);
        byte* a0 = a, a1 = a + aStride, a2 = a + 2 * aStride, a3 = a + 3 * aStride;
        Vector128<float> r0 = default, r1 = default, r2 = default, r3 = default; // rows, tokens in lanes
        Vector128<float> m0 = default, m1 = default, m2 = default, m3 = default; // tokens' mins, rows in lanes
        for (int b = 0; b < nb; b++, w += Bytes)
        {
            sbyte* x0 = (sbyte*)(a0 + qo) + 256 * b, x1 = (sbyte*)(a1 + qo) + 256 * b, x2 = (sbyte*)(a2 + qo) + 256 * b, x3 = (sbyte*)(a3 + qo) + 256 * b;
            var dx = Vector128.Create(((float*)a0)[b], ((float*)a1)[b], ((float*)a2)[b], ((float*)a3)[b]);
            var dd = Halves4(w, wStride);
            r0 = TI.Block4<TO>(r0, w, x0, x1, x2, x3, Vector128.Create(dd.GetElement(0)) * dx);
            r1 = TI.Block4<TO>(r1, w + wStride, x0, x1, x2, x3, Vector128.Create(dd.GetElement(2)) * dx);
            r2 = TI.Block4<TO>(r2, w + 2 * wStride, x0, x1, x2, x3, Vector128.Create(dd.GetElement(4)) * dx);
            r3 = TI.Block4<TO>(r3, w + 3 * wStride, x0, x1, x2, x3, Vector128.Create(dd.GetElement(6)) * dx);
            var dmin = Dmins(dd);
            m0 = MinStep<TO>(m0, w, wStride, (short*)(a0 + 4 * nb) + 16 * b, dmin * Vector128.Create(dx.GetElement(0)));
            m1 = MinStep<TO>(m1, w, wStride, (short*)(a1 + 4 * nb) + 16 * b, dmin * Vector128.Create(dx.GetElement(1)));
            m2 = MinStep<TO>(m2, w, wStride, (short*)(a2 + 4 * nb) + 16 * b, dmin * Vector128.Create(dx.GetElement(2)));
            m3 = MinStep<TO>(m3, w, wStride, (short*)(a3 + 4 * nb) + 16 * b, dmin * Vector128.Create(dx.GetElement(3)));
        }

        Store4x4(y, yStride, r0, r1, r2, r3, m0, m1, m2, m3);
    }

    /// <summary>Four vectors, one per pair of sub-blocks.</summary>
    internal readonly struct Pairs(Vector128<float> j0, Vector128<float> j1, Vector128<float> j2, Vector128<float> j3)
    {
        public readonly Vector128<float> J0 = j0, J1 = j1, J2 = j2, J3 = j3;
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

    /// <summary>The row's super-block against four tokens, added to <paramref name="acc"/> (tokens in lanes) by <paramref name="scale"/> in <typeparamref name="TO"/>'s order.</summary>
    static abstract Vector128<float> Block4<TO>(Vector128<float> acc, byte* w, sbyte* x0, sbyte* x1, sbyte* x2, sbyte* x3, Vector128<float> scale)
        where TO : struct, IQ4KOrder;
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
