using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Parley.Inference.Tensors.X86;

/// <summary>
/// Q4_0 tiles in <see cref="WholeBlockOrder"/> (llama.cpp's repacked order) for CPUs without AVX-VNNI:
/// AVX2, and AVX-512 CPUs such as Zen 4, whose VNNI has no 256-bit VEX form. As in
/// <see cref="WholeBlockTiles512"/>, a block's eight rows are transposed so that 32-bit lane r of group
/// g holds row r's quants 4g..4g+3; each group then meets the token's four activations (broadcast) in
/// one maddubs, unsigned nibbles times signed activations, and the eight groups' int16 pairs are added
/// before one madd widens them: |Σ| ≤ 8 · 2 · 15 · 127 = 30480 fits int16, so the integer dots are
/// exact and the float steps, and the bits, are <see cref="WholeBlockOrder.Dot{TB}"/>'s.
/// </summary>
internal static unsafe class Q4_0WholeBlockAvx2
{
    private const int BlockBytes = 18;

    public static bool Supported => Avx2.IsSupported && Fma.IsSupported;

    /// <summary>Eight rows against one token: y[r]. Requests the next eight rows as it goes (<see cref="RowPrefetch"/>).</summary>
    public static void Rows8Tokens1(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
    {
        int nb = k / 32, qo = ActivationLayout.QsOffset(DotType.Q8, k);
        int span = (8 * wStride + nb - 1) / nb;
        byte* next = w + 8 * wStride;
        var c = Vector256<float>.Zero;
        for (int b = 0; b < nb; b++)
        {
            for (int o = 0; o < span; o += 64) Sse.Prefetch0(next + b * span + o);
            byte* wb = w + b * BlockBytes;
            Transpose(wb, wStride, out var g);
            c = Step(c, Sums(in g, a, qo, nb, b), TileDot256.Scales8(wb, wStride), a, b);
        }

        c.Store(y);
    }

    /// <summary>Eight rows against four tokens: y[t·yStride + r].</summary>
    public static void Rows8Tokens4(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
    {
        int nb = k / 32, qo = ActivationLayout.QsOffset(DotType.Q8, k);
        byte* a1 = a + aStride, a2 = a1 + aStride, a3 = a2 + aStride;
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
        for (int b = 0; b < nb; b++)
        {
            byte* wb = w + b * BlockBytes;
            Transpose(wb, wStride, out var g);
            var dw = TileDot256.Scales8(wb, wStride);
            c0 = Step(c0, Sums(in g, a, qo, nb, b), dw, a, b);
            c1 = Step(c1, Sums(in g, a1, qo, nb, b), dw, a1, b);
            c2 = Step(c2, Sums(in g, a2, qo, nb, b), dw, a2, b);
            c3 = Step(c3, Sums(in g, a3, qo, nb, b), dw, a3, b);
        }

        c0.Store(y);
        c1.Store(y + yStride);
        c2.Store(y + 2 * yStride);
        c3.Store(y + 3 * yStride);
    }

    /// <summary>
    /// Four rows against four tokens, and against one: row dots in the same order. The eight-row tiles
    /// cover every row of a repacked matrix (its rows are a multiple of eight); these stand beside them
    /// where <see cref="MatMul"/> expects a four-row tile.
    /// </summary>
    public static void Rows4Tokens4(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
    {
        for (int t = 0; t < 4; t++) Rows4Tokens1(w, wStride, a + t * aStride, 0, k, y + t * yStride, 0);
    }

    public static void Rows4Tokens1(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
    {
        var dot = WholeBlockOrder.RowDot(GgmlType.Q4_0, KernelLevel.Vector256);
        for (int r = 0; r < 4; r++) y[r] = dot(w + r * wStride, a, k);
    }

    /// <summary>The eight groups of a block's eight rows, transposed: lane r of <c>G{g}</c> is row r's group g.</summary>
    private struct Groups
    {
        public Vector256<byte> G0, G1, G2, G3, G4, G5, G6, G7;
    }

    /// <summary>
    /// Block <paramref name="wb"/> of eight rows as unsigned nibbles, transposed: a 4×4 transpose of
    /// 32-bit lanes within each 128-bit lane (groups 0-3 low, 4-7 high) for rows 0-3 and rows 4-7, then
    /// their 128-bit halves paired.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose(byte* wb, int s, out Groups g)
    {
        Quarter(TileDot256.Q4_0Block.Unsigned(wb), TileDot256.Q4_0Block.Unsigned(wb + s),
            TileDot256.Q4_0Block.Unsigned(wb + 2 * s), TileDot256.Q4_0Block.Unsigned(wb + 3 * s), out var u0, out var u1, out var u2, out var u3);
        Quarter(TileDot256.Q4_0Block.Unsigned(wb + 4 * s), TileDot256.Q4_0Block.Unsigned(wb + 5 * s),
            TileDot256.Q4_0Block.Unsigned(wb + 6 * s), TileDot256.Q4_0Block.Unsigned(wb + 7 * s), out var v0, out var v1, out var v2, out var v3);
        g.G0 = Avx2.Permute2x128(u0, v0, 0x20).AsByte();
        g.G4 = Avx2.Permute2x128(u0, v0, 0x31).AsByte();
        g.G1 = Avx2.Permute2x128(u1, v1, 0x20).AsByte();
        g.G5 = Avx2.Permute2x128(u1, v1, 0x31).AsByte();
        g.G2 = Avx2.Permute2x128(u2, v2, 0x20).AsByte();
        g.G6 = Avx2.Permute2x128(u2, v2, 0x31).AsByte();
        g.G3 = Avx2.Permute2x128(u3, v3, 0x20).AsByte();
        g.G7 = Avx2.Permute2x128(u3, v3, 0x31).AsByte();
    }

    /// <summary>Four rows' groups: u{g}, per 128-bit lane, group g (low) and g + 4 (high) of rows 0-3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Quarter(Vector256<byte> r0, Vector256<byte> r1, Vector256<byte> r2, Vector256<byte> r3,
        out Vector256<long> u0, out Vector256<long> u1, out Vector256<long> u2, out Vector256<long> u3)
    {
        var t0 = Avx2.UnpackLow(r0.AsInt32(), r1.AsInt32()).AsInt64();
        var t1 = Avx2.UnpackHigh(r0.AsInt32(), r1.AsInt32()).AsInt64();
        var t2 = Avx2.UnpackLow(r2.AsInt32(), r3.AsInt32()).AsInt64();
        var t3 = Avx2.UnpackHigh(r2.AsInt32(), r3.AsInt32()).AsInt64();
        u0 = Avx2.UnpackLow(t0, t2);
        u1 = Avx2.UnpackHigh(t0, t2);
        u2 = Avx2.UnpackLow(t1, t3);
        u3 = Avx2.UnpackHigh(t1, t3);
    }

    /// <summary>The eight rows' integer dots of block <paramref name="b"/> with one token, less the bias the unsigned nibbles add (8 · the block's activation sum).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Sums(in Groups g, byte* a, int qo, int nb, int b)
    {
        int* x = (int*)(a + qo) + 8 * b;
        var p0 = Avx2.MultiplyAddAdjacent(g.G0, Vector256.Create(x[0]).AsSByte()) + Avx2.MultiplyAddAdjacent(g.G1, Vector256.Create(x[1]).AsSByte());
        var p1 = Avx2.MultiplyAddAdjacent(g.G2, Vector256.Create(x[2]).AsSByte()) + Avx2.MultiplyAddAdjacent(g.G3, Vector256.Create(x[3]).AsSByte());
        var p2 = Avx2.MultiplyAddAdjacent(g.G4, Vector256.Create(x[4]).AsSByte()) + Avx2.MultiplyAddAdjacent(g.G5, Vector256.Create(x[5]).AsSByte());
        var p3 = Avx2.MultiplyAddAdjacent(g.G6, Vector256.Create(x[6]).AsSByte()) + Avx2.MultiplyAddAdjacent(g.G7, Vector256.Create(x[7]).AsSByte());
        var sums = Avx2.MultiplyAddAdjacent((p0 + p1) + (p2 + p3), Vector256<short>.One);
        return sums - Vector256.Create(((int*)(a + 4 * nb))[b] << 3);
    }

    /// <summary>acc + float(sums) × (d_w · d_x): the repacked order's step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Step(Vector256<float> acc, Vector256<int> sums, Vector256<float> dw, byte* a, int b) =>
        Fma.MultiplyAdd(Avx.ConvertToVector256Single(sums), dw * Vector256.Create(((float*)a)[b]), acc);
}
