using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Parley.Inference.Tensors.X86;

/// <summary>
/// Q8_0, Q5_0, Q4_0, Q4_1 and Q5_1 weights (<see cref="IBlock32"/>) against Q8_0/Q8_1 activations on
/// AVX2, without VNNI, in ggml's order: per block eight int32 lanes, lane l the sum of values
/// 4l..4l+3's products, converted and added with one FMA by d_w·d_x, and ggml's horizontal sum at the
/// end, plus (Q4_1, Q5_1) the mins' Σ m·s, an FMA per block. maddubs wants one unsigned operand:
/// Q8_0 takes ggml's sign trick (|w| against x with w's sign); the others keep their stored unsigned
/// quants, Q4_0 and Q5_0 taking off the bias's products, maddubs(bias, x), which the rows share. The
/// lanes are exact integers, so every kernel here gives the row dot's bits.
/// </summary>
internal static unsafe class Block32Avx2
{
    public static bool Supported => Avx2.IsSupported && Fma.IsSupported;

    /// <summary>One row's lanes for one token's block: the bias's products <paramref name="bx"/> are the token's, shared by rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<int> Lanes<TB>(Vector256<byte> q, Vector256<sbyte> x, Vector256<short> bx) where TB : struct, IBlock32
    {
        var pairs = TB.Signed ? Avx2.MultiplyAddAdjacent(Avx2.Abs(q.AsSByte()), Avx2.Sign(x, q.AsSByte()))
            : TB.Bias != 0 ? Avx2.MultiplyAddAdjacent(q, x) - bx
            : Avx2.MultiplyAddAdjacent(q, x);
        return Avx2.MultiplyAddAdjacent(pairs, Vector256<short>.One);
    }

    /// <summary>The bias's products with a token's block (nothing without a bias).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<short> BiasPairs<TB>(Vector256<sbyte> x) where TB : struct, IBlock32 =>
        TB.Bias == 0 ? default : Avx2.MultiplyAddAdjacent(Vector256.Create(TB.Bias), x);

    /// <summary>Where a Q8_1 row keeps its blocks' s = d·Σx.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float* Sums(byte* a, int k) => (float*)(a + 8 * (k / 32));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Step(Vector256<float> acc, Vector256<int> lanes, Vector256<float> scale) =>
        Fma.MultiplyAdd(scale, Avx.ConvertToVector256Single(lanes), acc);

    /// <summary>Lane <paramref name="r"/> of <paramref name="v"/> in every lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Lane(Vector256<float> v, int r) => Avx2.PermuteVar8x32(v, Vector256.Create(r));

    public static float Dot<TB>(byte* w, byte* a, int k) where TB : struct, IBlock32
    {
        int nb = k / 32;
        float* d = (float*)a;
        sbyte* qs = (sbyte*)(a + ActivationLayout.QsOffset(DotType.Q8, k));
        float* sx = Sums(a, k);
        var acc = Vector256<float>.Zero;
        float mins = 0;
        for (int b = 0; b < nb; b++, w += TB.Bytes)
        {
            var x = Vector256.Load(qs + 32 * b);
            acc = Step(acc, Lanes<TB>(TB.Quants(w), x, BiasPairs<TB>(x)), Vector256.Create(Fp16.ToFloat(*(ushort*)w) * d[b]));
            if (TB.HasMin) mins = MathF.FusedMultiplyAdd(Fp16.ToFloat(*(ushort*)(w + 2)), sx[b], mins);
        }

        return VecDot256.HorizontalSum(acc) + mins;
    }

    /// <summary>Four rows against one token, rows in lanes of the result.</summary>
    public static void Rows4Tokens1<TB>(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride) where TB : struct, IBlock32
    {
        int nb = k / 32;
        float* d = (float*)a;
        sbyte* qs = (sbyte*)(a + ActivationLayout.QsOffset(DotType.Q8, k));
        float* sx = Sums(a, k);
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
        Vector128<float> mins = default; // rows in lanes
        byte* start = w;
        int span = RowPrefetch.Span(wStride, nb);
        for (int b = 0; b < nb; b++, w += TB.Bytes)
        {
            RowPrefetch.Next4(start, wStride, b, span);
            var x = Vector256.Load(qs + 32 * b);
            var bx = BiasPairs<TB>(x);
            var dw = Block32Vnni.Scales(w, w + wStride, w + 2 * wStride, w + 3 * wStride) * Vector256.Create(d[b]);
            c0 = Step(c0, Lanes<TB>(TB.Quants(w), x, bx), Lane(dw, 0));
            c1 = Step(c1, Lanes<TB>(TB.Quants(w + wStride), x, bx), Lane(dw, 1));
            c2 = Step(c2, Lanes<TB>(TB.Quants(w + 2 * wStride), x, bx), Lane(dw, 2));
            c3 = Step(c3, Lanes<TB>(TB.Quants(w + 3 * wStride), x, bx), Lane(dw, 3));
            if (TB.HasMin) mins = Fma.MultiplyAdd(Block32Vnni.Scales(w + 2, w + wStride + 2, w + 2 * wStride + 2, w + 3 * wStride + 2).GetLower(), Vector128.Create(sx[b]), mins);
        }

        (VecDot256.HorizontalSums(c0, c1, c2, c3) + mins).Store(y);
    }

    /// <summary>Four rows against four tokens, as two pairs of rows: eight accumulators stay in the sixteen registers.</summary>
    public static void Rows4Tokens4<TB>(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride) where TB : struct, IBlock32
    {
        Rows2Tokens4<TB>(w, wStride, a, aStride, k, y, yStride);
        Rows2Tokens4<TB>(w + 2 * wStride, wStride, a, aStride, k, y + 2, yStride);
    }

    private static void Rows2Tokens4<TB>(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride) where TB : struct, IBlock32
    {
        int nb = k / 32, qo = ActivationLayout.QsOffset(DotType.Q8, k);
        byte* a0 = a, a1 = a + aStride, a2 = a + 2 * aStride, a3 = a + 3 * aStride;
        Vector256<float> c00 = default, c01 = default, c02 = default, c03 = default; // row 0, tokens 0..3
        Vector256<float> c10 = default, c11 = default, c12 = default, c13 = default; // row 1
        Vector128<float> n0 = default, n1 = default; // rows 0 and 1's mins, tokens in lanes
        for (int b = 0; b < nb; b++, w += TB.Bytes)
        {
            float* half = HalfTable.Floats;
            if (TB.HasMin)
            {
                var sx = Vector128.Create(Sums(a0, k)[b], Sums(a1, k)[b], Sums(a2, k)[b], Sums(a3, k)[b]);
                n0 = Fma.MultiplyAdd(Vector128.Create(half[*(ushort*)(w + 2)]), sx, n0);
                n1 = Fma.MultiplyAdd(Vector128.Create(half[*(ushort*)(w + wStride + 2)]), sx, n1);
            }

            var q0 = TB.Quants(w);
            var q1 = TB.Quants(w + wStride);
            // Scales by table: a load and a broadcast each, where converting four halves takes a dozen instructions.
            var d0 = Vector256.Create(half[*(ushort*)w]);
            var d1 = Vector256.Create(half[*(ushort*)(w + wStride)]);
            var x = Vector256.Load((sbyte*)(a0 + qo) + 32 * b);
            var bx = BiasPairs<TB>(x);
            var dx = Vector256.Create(((float*)a0)[b]);
            c00 = Step(c00, Lanes<TB>(q0, x, bx), d0 * dx);
            c10 = Step(c10, Lanes<TB>(q1, x, bx), d1 * dx);
            x = Vector256.Load((sbyte*)(a1 + qo) + 32 * b);
            bx = BiasPairs<TB>(x);
            dx = Vector256.Create(((float*)a1)[b]);
            c01 = Step(c01, Lanes<TB>(q0, x, bx), d0 * dx);
            c11 = Step(c11, Lanes<TB>(q1, x, bx), d1 * dx);
            x = Vector256.Load((sbyte*)(a2 + qo) + 32 * b);
            bx = BiasPairs<TB>(x);
            dx = Vector256.Create(((float*)a2)[b]);
            c02 = Step(c02, Lanes<TB>(q0, x, bx), d0 * dx);
            c12 = Step(c12, Lanes<TB>(q1, x, bx), d1 * dx);
            x = Vector256.Load((sbyte*)(a3 + qo) + 32 * b);
            bx = BiasPairs<TB>(x);
            dx = Vector256.Create(((float*)a3)[b]);
            c03 = Step(c03, Lanes<TB>(q0, x, bx), d0 * dx);
            c13 = Step(c13, Lanes<TB>(q1, x, bx), d1 * dx);
        }

        var r0 = VecDot256.HorizontalSums(c00, c01, c02, c03) + n0; // row 0, tokens in lanes
        var r1 = VecDot256.HorizontalSums(c10, c11, c12, c13) + n1;
        for (int t = 0; t < 4; t++)
        {
            y[t * yStride] = r0.GetElement(t);
            y[t * yStride + 1] = r1.GetElement(t);
        }
    }
}
