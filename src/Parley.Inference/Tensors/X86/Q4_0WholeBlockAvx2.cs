using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Parley.Inference.Tensors.X86;

/// <summary>
/// Q4_0 tiles in <see cref="WholeBlockOrder"/> (llama.cpp's repacked order) for CPUs without AVX-VNNI:
/// AVX2, and AVX-512 CPUs such as Zen 4, whose VNNI has no 256-bit VEX form. As in
/// <see cref="Block32WholeBlockAvx512"/>, a block's eight rows are transposed so that 32-bit lane r of group
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
        int span = RowPrefetch.SpanOf(8 * wStride, nb);
        byte* next = w + 8 * wStride;
        var c = Vector256<float>.Zero;
        for (int b = 0; b < nb; b++)
        {
            RowPrefetch.Slice(next, b, span);
            byte* wb = w + b * BlockBytes;
            Transpose(wb, wStride, out var g);
            c = Step(c, Sums(in g, a, qo, nb, b), Block32Vnni.Scales8(wb, wStride), a, b);
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
            var dw = Block32Vnni.Scales8(wb, wStride);
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
    /// Block <paramref name="wb"/> of eight rows as unsigned nibbles, transposed. The stored bytes are
    /// transposed before the nibbles are split: 32-bit lane g of a row's sixteen bytes holds quants
    /// 4g..4g+3 in its low nibbles and 16+4g..16+4g+3 in its high ones, groups g and g + 4. Rows r and
    /// r + 4 share a register (128-bit halves), so a 4×4 transpose of 32-bit lanes puts rows 0-7 in order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose(byte* wb, int s, out Groups g)
    {
        var p0 = Vector256.Create(Vector128.Load(wb + 2), Vector128.Load(wb + 4 * s + 2)).AsInt32();
        var p1 = Vector256.Create(Vector128.Load(wb + s + 2), Vector128.Load(wb + 5 * s + 2)).AsInt32();
        var p2 = Vector256.Create(Vector128.Load(wb + 2 * s + 2), Vector128.Load(wb + 6 * s + 2)).AsInt32();
        var p3 = Vector256.Create(Vector128.Load(wb + 3 * s + 2), Vector128.Load(wb + 7 * s + 2)).AsInt32();
        var t0 = Avx2.UnpackLow(p0, p1).AsInt64();
        var t1 = Avx2.UnpackHigh(p0, p1).AsInt64();
        var t2 = Avx2.UnpackLow(p2, p3).AsInt64();
        var t3 = Avx2.UnpackHigh(p2, p3).AsInt64();
        var mask = Vector256.Create((byte)0x0F);
        Split(Avx2.UnpackLow(t0, t2).AsByte(), mask, out g.G0, out g.G4);
        Split(Avx2.UnpackHigh(t0, t2).AsByte(), mask, out g.G1, out g.G5);
        Split(Avx2.UnpackLow(t1, t3).AsByte(), mask, out g.G2, out g.G6);
        Split(Avx2.UnpackHigh(t1, t3).AsByte(), mask, out g.G3, out g.G7);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Split(Vector256<byte> raw, Vector256<byte> mask, out Vector256<byte> low, out Vector256<byte> high)
    {
        low = raw & mask;
        high = (raw.AsUInt16() >>> 4).AsByte() & mask;
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
