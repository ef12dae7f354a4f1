using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Parley.Inference.Tensors.X86;

/// <summary>
/// The tiles of <see cref="Block32Avx2"/> on AVX-512 BW (no VNNI): one vector holds two rows' blocks,
/// row r in the lower 256 bits and row r+1 in the upper, against the token's block in both. Each half
/// is its row's eight ggml lanes, converted and added with its own scale, so the rows keep the bits of
/// the 256-bit row dot while each instruction does two. Q8_0's sign trick has no 512-bit psignb: the
/// token's negated values are blended in where the weight is negative.
/// </summary>
internal static unsafe class Block32Avx512
{
    public static bool Supported => Avx512BW.IsSupported && Block32Avx2.Supported;

    /// <summary>Rows r and r+1's blocks, in the two halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> Pair<TB>(byte* w, int wStride) where TB : struct, IBlock32 =>
        Avx512F.InsertVector256(TB.Quants(w).ToVector512Unsafe(), TB.Quants(w + wStride), 1);

    /// <summary>A token's block in both halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<sbyte> Both(sbyte* x)
    {
        var v = Vector256.Load((ulong*)x).ToVector512Unsafe();
        return Avx512F.Shuffle4x128(v, v, 0b01_00_01_00).AsSByte();
    }

    /// <summary>
    /// What a token's block gives every row pair: its negation (signed quants) or the bias's
    /// products (biased unsigned ones).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<sbyte> TokenOther<TB>(Vector512<sbyte> x) where TB : struct, IBlock32 =>
        TB.Signed ? Vector512<sbyte>.Zero - x : TB.Bias != 0 ? Avx512BW.MultiplyAddAdjacent(Vector512.Create(TB.Bias), x).AsSByte() : default;

    /// <summary>What a row pair's block gives every token: for signed quants their magnitudes, and where they are negative.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> RowsQ<TB>(Vector512<byte> q, out Vector512<sbyte> negative) where TB : struct, IBlock32
    {
        negative = TB.Signed ? Vector512.LessThan(q.AsSByte(), Vector512<sbyte>.Zero) : default;
        return TB.Signed ? Avx512BW.Abs(q.AsSByte()) : q;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Step<TB>(Vector512<float> acc, Vector512<byte> q, Vector512<sbyte> negative, Vector512<sbyte> x, Vector512<sbyte> other, Vector512<float> scale)
        where TB : struct, IBlock32
    {
        var pairs = TB.Signed ? Avx512BW.MultiplyAddAdjacent(q, Vector512.ConditionalSelect(negative, other, x))
            : TB.Bias != 0 ? Avx512BW.MultiplyAddAdjacent(q, x) - other.AsInt16()
            : Avx512BW.MultiplyAddAdjacent(q, x);
        return Avx512F.FusedMultiplyAdd(scale, Avx512F.ConvertToVector512Single(Avx512BW.MultiplyAddAdjacent(pairs, Vector512<short>.One)), acc);
    }

    /// <summary>Rows r, r+1 (halves) and r+2, r+3 of a block's scales times the token's: [d0·dx ×8 | d1·dx ×8], [d2·dx ×8 | d3·dx ×8].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scales(Vector256<float> dw, float dx, out Vector512<float> s01, out Vector512<float> s23)
    {
        var v = (dw * Vector256.Create(dx)).ToVector512Unsafe();
        s01 = Avx512F.PermuteVar16x32(v, Vector512.Create(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
        s23 = Avx512F.PermuteVar16x32(v, Vector512.Create(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    }

    /// <summary>Four rows' half mins (Q4_1, Q5_1) as floats, rows in lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> MinScales(byte* w, int wStride) =>
        Block32Vnni.Scales(w + 2, w + wStride + 2, w + 2 * wStride + 2, w + 3 * wStride + 2).GetLower();

    /// <summary>Four rows' ggml sums from two row-pair accumulators, rows in lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Sums(Vector512<float> c01, Vector512<float> c23) =>
        VecDot256.HorizontalSums(c01.GetLower(), c01.GetUpper(), c23.GetLower(), c23.GetUpper());

    /// <summary>Four rows against one token.</summary>
    public static void Rows4Tokens1<TB>(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride) where TB : struct, IBlock32
    {
        int nb = k / 32;
        float* d = (float*)a;
        sbyte* qs = (sbyte*)(a + ActivationLayout.QsOffset(DotType.Q8, k));
        float* sx = Block32Avx2.Sums(a, k);
        Vector512<float> c01 = default, c23 = default;
        Vector128<float> mins = default; // rows in lanes
        byte* start = w;
        int span = RowPrefetch.Span(wStride, nb);
        for (int b = 0; b < nb; b++, w += TB.Bytes)
        {
            RowPrefetch.Next4(start, wStride, b, span);
            var x = Both(qs + 32 * b);
            var o = TokenOther<TB>(x);
            Scales(Block32Vnni.Scales(w, w + wStride, w + 2 * wStride, w + 3 * wStride), d[b], out var s01, out var s23);
            var q01 = RowsQ<TB>(Pair<TB>(w, wStride), out var n01);
            var q23 = RowsQ<TB>(Pair<TB>(w + 2 * wStride, wStride), out var n23);
            c01 = Step<TB>(c01, q01, n01, x, o, s01);
            c23 = Step<TB>(c23, q23, n23, x, o, s23);
            if (TB.HasMin) mins = Fma.MultiplyAdd(MinScales(w, wStride), Vector128.Create(sx[b]), mins);
        }

        (Sums(c01, c23) + mins).Store(y);
    }

    /// <summary>Four rows against four tokens: each row pair's block unpacked once for the four.</summary>
    public static void Rows4Tokens4<TB>(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride) where TB : struct, IBlock32
    {
        int nb = k / 32, qo = ActivationLayout.QsOffset(DotType.Q8, k);
        byte* a0 = a, a1 = a + aStride, a2 = a + 2 * aStride, a3 = a + 3 * aStride;
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default; // rows 0, 1; tokens 0..3
        Vector512<float> e0 = default, e1 = default, e2 = default, e3 = default; // rows 2, 3
        Vector128<float> n0 = default, n1 = default, n2 = default, n3 = default; // tokens' mins, rows in lanes
        for (int b = 0; b < nb; b++, w += TB.Bytes)
        {
            if (TB.HasMin)
            {
                var m = MinScales(w, wStride);
                n0 = Fma.MultiplyAdd(m, Vector128.Create(Block32Avx2.Sums(a0, k)[b]), n0);
                n1 = Fma.MultiplyAdd(m, Vector128.Create(Block32Avx2.Sums(a1, k)[b]), n1);
                n2 = Fma.MultiplyAdd(m, Vector128.Create(Block32Avx2.Sums(a2, k)[b]), n2);
                n3 = Fma.MultiplyAdd(m, Vector128.Create(Block32Avx2.Sums(a3, k)[b]), n3);
            }

            var q01 = RowsQ<TB>(Pair<TB>(w, wStride), out var n01);
            var q23 = RowsQ<TB>(Pair<TB>(w + 2 * wStride, wStride), out var n23);
            var dw = Block32Vnni.Scales(w, w + wStride, w + 2 * wStride, w + 3 * wStride);
            var x = Both((sbyte*)(a0 + qo) + 32 * b);
            var o = TokenOther<TB>(x);
            Scales(dw, ((float*)a0)[b], out var s01, out var s23);
            c0 = Step<TB>(c0, q01, n01, x, o, s01);
            e0 = Step<TB>(e0, q23, n23, x, o, s23);
            x = Both((sbyte*)(a1 + qo) + 32 * b);
            o = TokenOther<TB>(x);
            Scales(dw, ((float*)a1)[b], out s01, out s23);
            c1 = Step<TB>(c1, q01, n01, x, o, s01);
            e1 = Step<TB>(e1, q23, n23, x, o, s23);
            x = Both((sbyte*)(a2 + qo) + 32 * b);
            o = TokenOther<TB>(x);
            Scales(dw, ((float*)a2)[b], out s01, out s23);
            c2 = Step<TB>(c2, q01, n01, x, o, s01);
            e2 = Step<TB>(e2, q23, n23, x, o, s23);
            x = Both((sbyte*)(a3 + qo) + 32 * b);
            o = TokenOther<TB>(x);
            Scales(dw, ((float*)a3)[b], out s01, out s23);
            c3 = Step<TB>(c3, q01, n01, x, o, s01);
            e3 = Step<TB>(e3, q23, n23, x, o, s23);
        }

        (Sums(c0, e0) + n0).Store(y);
        (Sums(c1, e1) + n1).Store(y + yStride);
        (Sums(c2, e2) + n2).Store(y + 2 * yStride);
        (Sums(c3, e3) + n3).Store(y + 3 * yStride);
    }

    /// <summary>
    /// Eight rows against four tokens: a token's block, its prepared form and its scales serve four
    /// row pairs instead of two, which halves that per-token work against the 4×4 tile.
    /// </summary>
    public static void Rows8Tokens4<TB>(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride) where TB : struct, IBlock32
    {
        int nb = k / 32, qo = ActivationLayout.QsOffset(DotType.Q8, k);
        byte* a0 = a, a1 = a + aStride, a2 = a + 2 * aStride, a3 = a + 3 * aStride;
        // c[pair][token]
        Vector512<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector512<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector512<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector512<float> c30 = default, c31 = default, c32 = default, c33 = default;
        Vector256<float> n0 = default, n1 = default, n2 = default, n3 = default; // tokens' mins, rows in lanes
        for (int b = 0; b < nb; b++, w += TB.Bytes)
        {
            if (TB.HasMin)
            {
                var m = Block32Vnni.Scales8(w + 2, wStride);
                n0 = Fma.MultiplyAdd(m, Vector256.Create(Block32Avx2.Sums(a0, k)[b]), n0);
                n1 = Fma.MultiplyAdd(m, Vector256.Create(Block32Avx2.Sums(a1, k)[b]), n1);
                n2 = Fma.MultiplyAdd(m, Vector256.Create(Block32Avx2.Sums(a2, k)[b]), n2);
                n3 = Fma.MultiplyAdd(m, Vector256.Create(Block32Avx2.Sums(a3, k)[b]), n3);
            }

            var q0 = RowsQ<TB>(Pair<TB>(w, wStride), out var g0);
            var q1 = RowsQ<TB>(Pair<TB>(w + 2 * wStride, wStride), out var g1);
            var q2 = RowsQ<TB>(Pair<TB>(w + 4 * wStride, wStride), out var g2);
            var q3 = RowsQ<TB>(Pair<TB>(w + 6 * wStride, wStride), out var g3);
            var dw = Block32Vnni.Scales8(w, wStride).ToVector512Unsafe();
            var d0 = Avx512F.PermuteVar16x32(dw, Vector512.Create(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
            var d1 = Avx512F.PermuteVar16x32(dw, Vector512.Create(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
            var d2 = Avx512F.PermuteVar16x32(dw, Vector512.Create(4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5));
            var d3 = Avx512F.PermuteVar16x32(dw, Vector512.Create(6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7));
            var x = Both((sbyte*)(a0 + qo) + 32 * b);
            var o = TokenOther<TB>(x);
            var dx = Vector512.Create(((float*)a0)[b]);
            c00 = Step<TB>(c00, q0, g0, x, o, d0 * dx);
            c10 = Step<TB>(c10, q1, g1, x, o, d1 * dx);
            c20 = Step<TB>(c20, q2, g2, x, o, d2 * dx);
            c30 = Step<TB>(c30, q3, g3, x, o, d3 * dx);
            x = Both((sbyte*)(a1 + qo) + 32 * b);
            o = TokenOther<TB>(x);
            dx = Vector512.Create(((float*)a1)[b]);
            c01 = Step<TB>(c01, q0, g0, x, o, d0 * dx);
            c11 = Step<TB>(c11, q1, g1, x, o, d1 * dx);
            c21 = Step<TB>(c21, q2, g2, x, o, d2 * dx);
            c31 = Step<TB>(c31, q3, g3, x, o, d3 * dx);
            x = Both((sbyte*)(a2 + qo) + 32 * b);
            o = TokenOther<TB>(x);
            dx = Vector512.Create(((float*)a2)[b]);
            c02 = Step<TB>(c02, q0, g0, x, o, d0 * dx);
            c12 = Step<TB>(c12, q1, g1, x, o, d1 * dx);
            c22 = Step<TB>(c22, q2, g2, x, o, d2 * dx);
            c32 = Step<TB>(c32, q3, g3, x, o, d3 * dx);
            x = Both((sbyte*)(a3 + qo) + 32 * b);
            o = TokenOther<TB>(x);
            dx = Vector512.Create(((float*)a3)[b]);
            c03 = Step<TB>(c03, q0, g0, x, o, d0 * dx);
            c13 = Step<TB>(c13, q1, g1, x, o, d1 * dx);
            c23 = Step<TB>(c23, q2, g2, x, o, d2 * dx);
            c33 = Step<TB>(c33, q3, g3, x, o, d3 * dx);
        }

        (Vector256.Create(Sums(c00, c10), Sums(c20, c30)) + n0).Store(y);
        (Vector256.Create(Sums(c01, c11), Sums(c21, c31)) + n1).Store(y + yStride);
        (Vector256.Create(Sums(c02, c12), Sums(c22, c32)) + n2).Store(y + 2 * yStride);
        (Vector256.Create(Sums(c03, c13), Sums(c23, c33)) + n3).Store(y + 3 * yStride);
    }
}
