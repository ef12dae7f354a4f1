using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Parley.Inference.Tensors.X86;

/// <summary>
/// F32, F16 and BF16 row dots in the order of ggml_vec_dot_f32, _f16 and _bf16, which llama.cpp runs
/// for a product with a single activation row: llamafile's tinyBLAS, which takes the others, declines
/// n &lt; 2. F32 and F16 as its AVX-512 build sums them: four sixteen-lane FMA chains over steps of 64
/// values, added as (0 + 2) + (1 + 3), then _mm512_reduce_add_ps; the values past the last step of 64
/// follow one by one, for F32 with an FMA into the float sum (GCC contracts ggml's sumf += x·y), for
/// F16 in double. The row dots keep the sixteen lanes as two 256-bit halves, which adds the same way;
/// the four-row tiles use 512-bit vectors. BF16 as its AVX2 build sums it (the build behind the BF16
/// references): four eight-lane chains over steps of 32, (0 + 2) + (1 + 3), hsum_float_8, the rest in double.
/// </summary>
internal static unsafe class SingleTokenDot
{
    public static float F32(byte* w, byte* a, int k)
    {
        float* x = (float*)w, y = (float*)a;
        int np = k & ~63;
        Chains lo = default, hi = default;
        for (int i = 0; i < np; i += 64)
        {
            for (int j = 0; j < 4; j++)
            {
                lo[j] = Vector256.FusedMultiplyAdd(Vector256.Load(x + i + 16 * j), Vector256.Load(y + i + 16 * j), lo[j]);
                hi[j] = Vector256.FusedMultiplyAdd(Vector256.Load(x + i + 16 * j + 8), Vector256.Load(y + i + 16 * j + 8), hi[j]);
            }
        }

        return Tail(x, y, np, k, Reduce(lo, hi));
    }

    public static float F16(byte* w, byte* a, int k)
    {
        ushort* x = (ushort*)w, y = (ushort*)a;
        int np = k & ~63;
        Chains lo = default, hi = default;
        for (int i = 0; i < np; i += 64)
        {
            for (int j = 0; j < 4; j++)
            {
                lo[j] = Vector256.FusedMultiplyAdd(Fp16.ToFloat(Vector128.Load(x + i + 16 * j)), Fp16.ToFloat(Vector128.Load(y + i + 16 * j)), lo[j]);
                hi[j] = Vector256.FusedMultiplyAdd(Fp16.ToFloat(Vector128.Load(x + i + 16 * j + 8)), Fp16.ToFloat(Vector128.Load(y + i + 16 * j + 8)), hi[j]);
            }
        }

        return Tail(x, y, np, k, Reduce(lo, hi));
    }

    public static float BF16(byte* w, byte* a, int k)
    {
        ushort* x = (ushort*)w, y = (ushort*)a;
        int np = k & ~31;
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
        for (int i = 0; i < np; i += 32)
        {
            c0 = Vector256.FusedMultiplyAdd(Fp16.BF16ToFloat(Vector128.Load(x + i)), Fp16.BF16ToFloat(Vector128.Load(y + i)), c0);
            c1 = Vector256.FusedMultiplyAdd(Fp16.BF16ToFloat(Vector128.Load(x + i + 8)), Fp16.BF16ToFloat(Vector128.Load(y + i + 8)), c1);
            c2 = Vector256.FusedMultiplyAdd(Fp16.BF16ToFloat(Vector128.Load(x + i + 16)), Fp16.BF16ToFloat(Vector128.Load(y + i + 16)), c2);
            c3 = Vector256.FusedMultiplyAdd(Fp16.BF16ToFloat(Vector128.Load(x + i + 24)), Fp16.BF16ToFloat(Vector128.Load(y + i + 24)), c3);
        }

        return TailBF16(x, y, np, k, VecDot256.HorizontalSum((c0 + c2) + (c1 + c3)));
    }

    /// <summary>
    /// Four rows against one token, y[r], each with <see cref="BF16"/>'s bits: two rows at a time (eight
    /// chains fit sixteen registers), the token's values widened once per pair. Each pair requests
    /// its rows' counterparts in the next tile (<see cref="X86.RowPrefetch"/>).
    /// </summary>
    public static void Rows4BF16(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
    {
        int span = X86.RowPrefetch.SpanOf(2 * wStride, k >> 5);
        Rows2BF16((ushort*)w, (ushort*)(w + wStride), (ushort*)a, k, y, wStride, span);
        Rows2BF16((ushort*)(w + 2 * wStride), (ushort*)(w + 3 * wStride), (ushort*)a, k, y + 2, wStride, span);
    }

    private static void Rows2BF16(ushort* w0, ushort* w1, ushort* x, int k, float* y, int wStride, int span)
    {
        int np = k & ~31;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
        for (int i = 0; i < np; i += 32)
        {
            X86.RowPrefetch.Slice((byte*)w0 + 4 * wStride, i >> 5, span);
            var x0 = Fp16.BF16ToFloat(Vector128.Load(x + i));
            var x1 = Fp16.BF16ToFloat(Vector128.Load(x + i + 8));
            var x2 = Fp16.BF16ToFloat(Vector128.Load(x + i + 16));
            var x3 = Fp16.BF16ToFloat(Vector128.Load(x + i + 24));
            a0 = Vector256.FusedMultiplyAdd(Fp16.BF16ToFloat(Vector128.Load(w0 + i)), x0, a0);
            a1 = Vector256.FusedMultiplyAdd(Fp16.BF16ToFloat(Vector128.Load(w0 + i + 8)), x1, a1);
            a2 = Vector256.FusedMultiplyAdd(Fp16.BF16ToFloat(Vector128.Load(w0 + i + 16)), x2, a2);
            a3 = Vector256.FusedMultiplyAdd(Fp16.BF16ToFloat(Vector128.Load(w0 + i + 24)), x3, a3);
            b0 = Vector256.FusedMultiplyAdd(Fp16.BF16ToFloat(Vector128.Load(w1 + i)), x0, b0);
            b1 = Vector256.FusedMultiplyAdd(Fp16.BF16ToFloat(Vector128.Load(w1 + i + 8)), x1, b1);
            b2 = Vector256.FusedMultiplyAdd(Fp16.BF16ToFloat(Vector128.Load(w1 + i + 16)), x2, b2);
            b3 = Vector256.FusedMultiplyAdd(Fp16.BF16ToFloat(Vector128.Load(w1 + i + 24)), x3, b3);
        }

        y[0] = TailBF16(w0, x, np, k, VecDot256.HorizontalSum((a0 + a2) + (a1 + a3)));
        y[1] = TailBF16(w1, x, np, k, VecDot256.HorizontalSum((b0 + b2) + (b1 + b3)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float TailBF16(ushort* w, ushort* x, int np, int k, float reduced)
    {
        double sum = reduced;
        for (int i = np; i < k; i++) sum += Fp16.BF16ToFloat(w[i]) * Fp16.BF16ToFloat(x[i]);
        return (float)sum;
    }

    /// <summary>Whether <see cref="Rows4F32"/> and <see cref="Rows4F16"/> run: their sixteen-lane chains need 512-bit vectors.</summary>
    public static bool TilesSupported => Vector512.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Avx2.IsSupported;

    /// <summary>Four rows against one token, y[r], each with <see cref="F32"/>'s bits: the token's values are loaded once for the four.</summary>
    public static void Rows4F32(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
    {
        float* x = (float*)a;
        float* w0 = (float*)w, w1 = (float*)(w + wStride), w2 = (float*)(w + 2 * wStride), w3 = (float*)(w + 3 * wStride);
        int np = k & ~63, span = X86.RowPrefetch.Span(wStride, np >> 6);
        Chains4 c0 = default, c1 = default, c2 = default, c3 = default;
        for (int i = 0; i < np; i += 64)
        {
            X86.RowPrefetch.Next4(w, wStride, i >> 6, span);
            Step(ref c0, w0 + i, x + i);
            Step(ref c1, w1 + i, x + i);
            Step(ref c2, w2 + i, x + i);
            Step(ref c3, w3 + i, x + i);
        }

        var sums = Reduce4(c0, c1, c2, c3);
        y[0] = Tail(w0, x, np, k, sums[0]);
        y[1] = Tail(w1, x, np, k, sums[1]);
        y[2] = Tail(w2, x, np, k, sums[2]);
        y[3] = Tail(w3, x, np, k, sums[3]);
    }

    /// <summary>Four rows against one token, y[r], each with <see cref="F16"/>'s bits: the token's values are widened once for the four.</summary>
    public static void Rows4F16(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
    {
        ushort* x = (ushort*)a;
        ushort* w0 = (ushort*)w, w1 = (ushort*)(w + wStride), w2 = (ushort*)(w + 2 * wStride), w3 = (ushort*)(w + 3 * wStride);
        int np = k & ~63, span = X86.RowPrefetch.Span(wStride, np >> 6);
        Chains4 c0 = default, c1 = default, c2 = default, c3 = default;
        for (int i = 0; i < np; i += 64)
        {
            X86.RowPrefetch.Next4(w, wStride, i >> 6, span);
            var x0 = Fp16.ToFloat(Vector256.Load(x + i));
            var x1 = Fp16.ToFloat(Vector256.Load(x + i + 16));
            var x2 = Fp16.ToFloat(Vector256.Load(x + i + 32));
            var x3 = Fp16.ToFloat(Vector256.Load(x + i + 48));
            Step(ref c0, w0 + i, x0, x1, x2, x3);
            Step(ref c1, w1 + i, x0, x1, x2, x3);
            Step(ref c2, w2 + i, x0, x1, x2, x3);
            Step(ref c3, w3 + i, x0, x1, x2, x3);
        }

        var sums = Reduce4(c0, c1, c2, c3);
        y[0] = Tail(w0, x, np, k, sums[0]);
        y[1] = Tail(w1, x, np, k, sums[1]);
        y[2] = Tail(w2, x, np, k, sums[2]);
        y[3] = Tail(w3, x, np, k, sums[3]);
    }

    /// <summary>A row's four sixteen-lane chains, in registers.</summary>
    private struct Chains4
    {
        public Vector512<float> A, B, C, D;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step(ref Chains4 c, float* w, float* x)
    {
        c.A = Vector512.FusedMultiplyAdd(Vector512.Load(w), Vector512.Load(x), c.A);
        c.B = Vector512.FusedMultiplyAdd(Vector512.Load(w + 16), Vector512.Load(x + 16), c.B);
        c.C = Vector512.FusedMultiplyAdd(Vector512.Load(w + 32), Vector512.Load(x + 32), c.C);
        c.D = Vector512.FusedMultiplyAdd(Vector512.Load(w + 48), Vector512.Load(x + 48), c.D);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step(ref Chains4 c, ushort* w, Vector512<float> x0, Vector512<float> x1, Vector512<float> x2, Vector512<float> x3)
    {
        c.A = Vector512.FusedMultiplyAdd(Fp16.ToFloat(Vector256.Load(w)), x0, c.A);
        c.B = Vector512.FusedMultiplyAdd(Fp16.ToFloat(Vector256.Load(w + 16)), x1, c.B);
        c.C = Vector512.FusedMultiplyAdd(Fp16.ToFloat(Vector256.Load(w + 32)), x2, c.C);
        c.D = Vector512.FusedMultiplyAdd(Fp16.ToFloat(Vector256.Load(w + 48)), x3, c.D);
    }

    /// <summary>
    /// Four rows' chains each added as (0 + 2) + (1 + 3), then _mm512_reduce_add_ps (upper half plus
    /// lower, then <see cref="VecDot256.HorizontalSum"/>'s steps, done for the four rows at once).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Reduce4(in Chains4 c0, in Chains4 c1, in Chains4 c2, in Chains4 c3)
    {
        var x0 = (c0.A + c0.C) + (c0.B + c0.D);
        var x1 = (c1.A + c1.C) + (c1.B + c1.D);
        var x2 = (c2.A + c2.C) + (c2.B + c2.D);
        var x3 = (c3.A + c3.C) + (c3.B + c3.D);
        return VecDot256.HorizontalSums(x0.GetUpper() + x0.GetLower(), x1.GetUpper() + x1.GetLower(), x2.GetUpper() + x2.GetLower(), x3.GetUpper() + x3.GetLower());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Tail(float* w, float* x, int np, int k, float sum)
    {
        for (int i = np; i < k; i++) sum = MathF.FusedMultiplyAdd(w[i], x[i], sum);
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Tail(ushort* w, ushort* x, int np, int k, float reduced)
    {
        double sum = reduced;
        for (int i = np; i < k; i++) sum += Fp16.ToFloat(w[i]) * Fp16.ToFloat(x[i]);
        return (float)sum;
    }

    /// <summary>Four chains of sixteen lanes, as eight 256-bit vectors (lower and upper halves), for the row dots.</summary>
    [InlineArray(4)]
    private struct Chains
    {
        private Vector256<float> _element;
    }

    /// <summary>(0 + 2) + (1 + 3) lane by lane, then _mm512_reduce_add_ps: upper half plus lower, then <see cref="VecDot256.HorizontalSum"/>'s steps.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Reduce(in Chains lo, in Chains hi) =>
        VecDot256.HorizontalSum(((hi[0] + hi[2]) + (hi[1] + hi[3])) + ((lo[0] + lo[2]) + (lo[1] + lo[3])));
}
