using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Parley.Inference.Tensors.X86;

/// <summary>
/// Eight Q4_0 or Q8_0 rows against one, four or eight tokens in <see cref="WholeBlockOrder"/>, for
/// CPUs with AVX-512 (and AVX-VNNI). A block's eight rows are transposed in registers so that each
/// 32-bit lane holds one row's four quants of a group; each VPDPBUSD then multiplies all eight rows
/// by one token's four activations (broadcast), and after the block's eight groups each lane holds its
/// row's whole integer dot, which is what that order converts and adds: nothing is left to reduce
/// across lanes. The transposition is paid once per block for all the tile's tokens. On L1-resident
/// Q4_0 data, against the 4×4 tile: 1.5× with four tokens, 2.0× with eight; on Q8_0, against the
/// ggml-order 8×4 tile (<see cref="Block32VnniAvx512"/>), 1.45× with eight. The integer sums are exact and the
/// float steps those of <see cref="WholeBlockOrder.Dot{TB}"/>, so the bits are its. The Q6_K eight-row
/// tiles (<see cref="Q6_KWholeBlock"/>) share the transposition and the VPDPBUSD chains.
/// </summary>
internal static unsafe class Block32WholeBlockAvx512
{
    public static bool Supported => Block32Vnni.Supported && Avx512F.IsSupported;

    /// <summary>Eight weight rows (rows apart by the stride) against one activation row: y[r].</summary>
    public static void Rows8Tokens1<TB>(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
        where TB : struct, Block32Vnni.IBlock
    {
        int nb = k / 32, qo = ActivationLayout.QsOffset(DotType.Q8, k);
        var c = Vector256<float>.Zero;
        int span = RowPrefetch.SpanOf(8 * wStride, nb);
        for (int b = 0; b < nb; b++)
        {
            RowPrefetch.Slice(w + 8 * wStride, b, span);
            byte* wb = w + b * TB.Bytes;
            Transpose<TB>(wb, wStride, out var g0, out var g1, out var g2, out var g3, out var g4, out var g5, out var g6, out var g7);
            var sums = Sums<TB>(g0, g1, g2, g3, g4, g5, g6, g7, a, qo, nb, b);
            c = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sums), Block32Vnni.Scales8(wb, wStride) * Vector256.Create(((float*)a)[b]), c);
        }

        c.Store(y);
    }

    /// <summary>Eight weight rows (rows apart by the stride) against four activation rows: y[t·yStride + r].</summary>
    public static void Rows8Tokens4<TB>(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
        where TB : struct, Block32Vnni.IBlock
    {
        int nb = k / 32, qo = ActivationLayout.QsOffset(DotType.Q8, k);
        byte* a1 = a + aStride, a2 = a1 + aStride, a3 = a2 + aStride;
        // c{tokens}: the low half accumulates the first token's eight rows, the high half the second's.
        Vector512<float> c01 = default, c23 = default;
        for (int b = 0; b < nb; b++)
        {
            byte* wb = w + b * TB.Bytes;
            Transpose<TB>(wb, wStride, out var g0, out var g1, out var g2, out var g3, out var g4, out var g5, out var g6, out var g7);
            var dw = Scales(wb, wStride);
            c01 = Step(c01, dw, Sums<TB>(g0, g1, g2, g3, g4, g5, g6, g7, a, qo, nb, b), Sums<TB>(g0, g1, g2, g3, g4, g5, g6, g7, a1, qo, nb, b), a, a1, b);
            c23 = Step(c23, dw, Sums<TB>(g0, g1, g2, g3, g4, g5, g6, g7, a2, qo, nb, b), Sums<TB>(g0, g1, g2, g3, g4, g5, g6, g7, a3, qo, nb, b), a2, a3, b);
        }

        Store(y, yStride, c01);
        Store(y + 2 * yStride, yStride, c23);
    }

    /// <summary>Eight weight rows against eight activation rows: y[t·yStride + r].</summary>
    public static void Rows8Tokens8<TB>(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
        where TB : struct, Block32Vnni.IBlock
    {
        int nb = k / 32, qo = ActivationLayout.QsOffset(DotType.Q8, k);
        byte* a1 = a + aStride, a2 = a1 + aStride, a3 = a2 + aStride, a4 = a3 + aStride, a5 = a4 + aStride, a6 = a5 + aStride, a7 = a6 + aStride;
        Vector512<float> c01 = default, c23 = default, c45 = default, c67 = default;
        for (int b = 0; b < nb; b++)
        {
            byte* wb = w + b * TB.Bytes;
            Transpose<TB>(wb, wStride, out var g0, out var g1, out var g2, out var g3, out var g4, out var g5, out var g6, out var g7);
            var dw = Scales(wb, wStride);
            c01 = Step(c01, dw, Sums<TB>(g0, g1, g2, g3, g4, g5, g6, g7, a, qo, nb, b), Sums<TB>(g0, g1, g2, g3, g4, g5, g6, g7, a1, qo, nb, b), a, a1, b);
            c23 = Step(c23, dw, Sums<TB>(g0, g1, g2, g3, g4, g5, g6, g7, a2, qo, nb, b), Sums<TB>(g0, g1, g2, g3, g4, g5, g6, g7, a3, qo, nb, b), a2, a3, b);
            c45 = Step(c45, dw, Sums<TB>(g0, g1, g2, g3, g4, g5, g6, g7, a4, qo, nb, b), Sums<TB>(g0, g1, g2, g3, g4, g5, g6, g7, a5, qo, nb, b), a4, a5, b);
            c67 = Step(c67, dw, Sums<TB>(g0, g1, g2, g3, g4, g5, g6, g7, a6, qo, nb, b), Sums<TB>(g0, g1, g2, g3, g4, g5, g6, g7, a7, qo, nb, b), a6, a7, b);
        }

        Store(y, yStride, c01);
        Store(y + 2 * yStride, yStride, c23);
        Store(y + 4 * yStride, yStride, c45);
        Store(y + 6 * yStride, yStride, c67);
    }

    /// <summary>Block <paramref name="wb"/> of eight rows (rows apart by <paramref name="s"/>) as unsigned quants, transposed as <see cref="Transpose"/> does.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose<TB>(byte* wb, int s,
        out Vector256<byte> g0, out Vector256<byte> g1, out Vector256<byte> g2, out Vector256<byte> g3,
        out Vector256<byte> g4, out Vector256<byte> g5, out Vector256<byte> g6, out Vector256<byte> g7)
        where TB : struct, Block32Vnni.IBlock =>
        Transpose(TB.Unsigned(wb), TB.Unsigned(wb + s), TB.Unsigned(wb + 2 * s), TB.Unsigned(wb + 3 * s),
            TB.Unsigned(wb + 4 * s), TB.Unsigned(wb + 5 * s), TB.Unsigned(wb + 6 * s), TB.Unsigned(wb + 7 * s),
            out g0, out g1, out g2, out g3, out g4, out g5, out g6, out g7);

    /// <summary>
    /// Eight rows' 32 quants, group g (quants 4g..4g+3) of row r in lane r of <c>g{g}</c>: a 4×4
    /// transpose of 32-bit lanes within each 128-bit lane (rows r and r+4 share a register), then one
    /// shuffle of 128-bit lanes per pair of groups.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Transpose(Vector256<byte> r0, Vector256<byte> r1, Vector256<byte> r2, Vector256<byte> r3,
        Vector256<byte> r4, Vector256<byte> r5, Vector256<byte> r6, Vector256<byte> r7,
        out Vector256<byte> g0, out Vector256<byte> g1, out Vector256<byte> g2, out Vector256<byte> g3,
        out Vector256<byte> g4, out Vector256<byte> g5, out Vector256<byte> g6, out Vector256<byte> g7)
    {
        // p{r}, 128-bit lanes: row r groups 0-3, row r groups 4-7, row r+4 groups 0-3, row r+4 groups 4-7
        var p0 = Vector512.Create(r0, r4).AsInt32();
        var p1 = Vector512.Create(r1, r5).AsInt32();
        var p2 = Vector512.Create(r2, r6).AsInt32();
        var p3 = Vector512.Create(r3, r7).AsInt32();
        var t0 = Avx512F.UnpackLow(p0, p1).AsInt64();
        var t1 = Avx512F.UnpackHigh(p0, p1).AsInt64();
        var t2 = Avx512F.UnpackLow(p2, p3).AsInt64();
        var t3 = Avx512F.UnpackHigh(p2, p3).AsInt64();
        // u0, 128-bit lanes: group 0 of rows 0-3, group 4 of rows 0-3, group 0 of rows 4-7, group 4 of rows 4-7
        var u0 = Avx512F.UnpackLow(t0, t2);
        var u1 = Avx512F.UnpackHigh(t0, t2);
        var u2 = Avx512F.UnpackLow(t1, t3);
        var u3 = Avx512F.UnpackHigh(t1, t3);
        const byte Pair = 0b11_01_10_00; // 128-bit lanes 0, 2, 1, 3: group g of rows 0-7, then group g+4
        var v0 = Avx512F.Shuffle4x128(u0, u0, Pair).AsByte();
        var v1 = Avx512F.Shuffle4x128(u1, u1, Pair).AsByte();
        var v2 = Avx512F.Shuffle4x128(u2, u2, Pair).AsByte();
        var v3 = Avx512F.Shuffle4x128(u3, u3, Pair).AsByte();
        g0 = v0.GetLower();
        g4 = v0.GetUpper();
        g1 = v1.GetLower();
        g5 = v1.GetUpper();
        g2 = v2.GetLower();
        g6 = v2.GetUpper();
        g3 = v3.GetLower();
        g7 = v3.GetUpper();
    }

    /// <summary>
    /// The eight rows' integer dots of block <paramref name="b"/> with one activation row, starting from
    /// the bias the unsigned quants add (8 · the block's activation sum).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Sums<TB>(Vector256<byte> g0, Vector256<byte> g1, Vector256<byte> g2, Vector256<byte> g3,
        Vector256<byte> g4, Vector256<byte> g5, Vector256<byte> g6, Vector256<byte> g7, byte* a, int qo, int nb, int b)
        where TB : struct, Block32Vnni.IBlock
    {
        var bias = Vector256.Create(-(((int*)(a + 4 * nb))[b] << TB.BiasShift));
        HalfSums(g0, g1, g2, g3, g4, g5, g6, g7, (int*)(a + qo) + 8 * b, bias, Vector256<int>.Zero, out var low, out var high);
        return low + high;
    }

    /// <summary>
    /// Transposed groups against one activation row's 32 quants at <paramref name="x"/>: each group's
    /// four activations broadcast against the rows' groups, groups 0-3 added onto <paramref name="low"/>
    /// and 4-7 onto <paramref name="high"/>, two independent chains.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void HalfSums(Vector256<byte> g0, Vector256<byte> g1, Vector256<byte> g2, Vector256<byte> g3,
        Vector256<byte> g4, Vector256<byte> g5, Vector256<byte> g6, Vector256<byte> g7, int* x,
        Vector256<int> lowStart, Vector256<int> highStart, out Vector256<int> low, out Vector256<int> high)
    {
        low = AvxVnni.MultiplyWideningAndAdd(lowStart, g0, Vector256.Create(x[0]).AsSByte());
        high = AvxVnni.MultiplyWideningAndAdd(highStart, g4, Vector256.Create(x[4]).AsSByte());
        low = AvxVnni.MultiplyWideningAndAdd(low, g1, Vector256.Create(x[1]).AsSByte());
        high = AvxVnni.MultiplyWideningAndAdd(high, g5, Vector256.Create(x[5]).AsSByte());
        low = AvxVnni.MultiplyWideningAndAdd(low, g2, Vector256.Create(x[2]).AsSByte());
        high = AvxVnni.MultiplyWideningAndAdd(high, g6, Vector256.Create(x[6]).AsSByte());
        low = AvxVnni.MultiplyWideningAndAdd(low, g3, Vector256.Create(x[3]).AsSByte());
        high = AvxVnni.MultiplyWideningAndAdd(high, g7, Vector256.Create(x[7]).AsSByte());
    }

    /// <summary>acc + float(sums of two tokens, side by side) × (d_w · d_x), the repacked order's step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Step(Vector512<float> acc, Vector512<float> dw, Vector256<int> first, Vector256<int> second, byte* aFirst, byte* aSecond, int b)
    {
        var dx = Vector512.Create(Vector256.Create(((float*)aFirst)[b]), Vector256.Create(((float*)aSecond)[b]));
        return Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Vector512.Create(first, second)), dw * dx, acc);
    }

    /// <summary>The eight rows' half scales of one block as floats, in both halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Scales(byte* w, int stride)
    {
        var rows = Block32Vnni.Scales8(w, stride);
        return Vector512.Create(rows, rows);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* y, int yStride, Vector512<float> twoTokens)
    {
        twoTokens.GetLower().Store(y);
        twoTokens.GetUpper().Store(y + yStride);
    }
}
