using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Parley.Inference.Tensors;

/// <summary>
/// F16 weights against one F16 activation row, four weight rows at a time. Without F16C every half
/// is widened in software, so converting each activation vector once for four rows instead of once
/// per row removes close to half the work of a row dot (the output matrix of a tied-embedding model
/// is F16 and dominates its decode step). Each row's arithmetic is exactly <see cref="VecDot256"/>'s
/// F16 dot: two accumulators over sixteen halves per step, then the scalar tail.
/// </summary>
internal static unsafe class TileDotF16
{
    public static void Rows4Tokens1(byte* w, int wStride, byte* x, int xStride, int k, float* y, int yStride)
    {
        ushort* r0 = (ushort*)w, r1 = (ushort*)(w + wStride), r2 = (ushort*)(w + 2 * wStride), r3 = (ushort*)(w + 3 * wStride);
        ushort* a = (ushort*)x;
        Vector256<float> s00 = default, s01 = default, s10 = default, s11 = default;
        Vector256<float> s20 = default, s21 = default, s30 = default, s31 = default;
        int i = 0;
        for (; i + 16 <= k; i += 16)
        {
            var a0 = Fp16.ToFloat(Vector128.Load(a + i));
            var a1 = Fp16.ToFloat(Vector128.Load(a + i + 8));
            s00 = Fma.MultiplyAdd(Fp16.ToFloat(Vector128.Load(r0 + i)), a0, s00);
            s01 = Fma.MultiplyAdd(Fp16.ToFloat(Vector128.Load(r0 + i + 8)), a1, s01);
            s10 = Fma.MultiplyAdd(Fp16.ToFloat(Vector128.Load(r1 + i)), a0, s10);
            s11 = Fma.MultiplyAdd(Fp16.ToFloat(Vector128.Load(r1 + i + 8)), a1, s11);
            s20 = Fma.MultiplyAdd(Fp16.ToFloat(Vector128.Load(r2 + i)), a0, s20);
            s21 = Fma.MultiplyAdd(Fp16.ToFloat(Vector128.Load(r2 + i + 8)), a1, s21);
            s30 = Fma.MultiplyAdd(Fp16.ToFloat(Vector128.Load(r3 + i)), a0, s30);
            s31 = Fma.MultiplyAdd(Fp16.ToFloat(Vector128.Load(r3 + i + 8)), a1, s31);
        }

        y[0] = Finish(s00 + s01, r0, a, i, k);
        y[1] = Finish(s10 + s11, r1, a, i, k);
        y[2] = Finish(s20 + s21, r2, a, i, k);
        y[3] = Finish(s30 + s31, r3, a, i, k);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Finish(Vector256<float> s, ushort* row, ushort* a, int i, int k)
    {
        float sum = VecDot256.HorizontalSum(s);
        for (; i < k; i++) sum += Fp16.ToFloat(row[i]) * Fp16.ToFloat(a[i]);
        return sum;
    }

    /// <summary>
    /// (A twin of <see cref="Rows4Tokens1"/> rather than one generic kernel over the element type: the
    /// generic form measured 25% slower in decode, tg128 on the F16 file, A/B back to back.)
    /// The same four dots on weights and activations already widened to F32 (exactly, so the products
    /// and sums are those of <see cref="Rows4Tokens1"/>): rows are <paramref name="k"/> floats apart.
    /// </summary>
    public static void Rows4Tokens1Wide(float* w, int k, float* a, float* y)
    {
        float* r0 = w, r1 = w + k, r2 = w + 2 * k, r3 = w + 3 * k;
        Vector256<float> s00 = default, s01 = default, s10 = default, s11 = default;
        Vector256<float> s20 = default, s21 = default, s30 = default, s31 = default;
        int i = 0;
        for (; i + 16 <= k; i += 16)
        {
            var a0 = Vector256.Load(a + i);
            var a1 = Vector256.Load(a + i + 8);
            s00 = Fma.MultiplyAdd(Vector256.Load(r0 + i), a0, s00);
            s01 = Fma.MultiplyAdd(Vector256.Load(r0 + i + 8), a1, s01);
            s10 = Fma.MultiplyAdd(Vector256.Load(r1 + i), a0, s10);
            s11 = Fma.MultiplyAdd(Vector256.Load(r1 + i + 8), a1, s11);
            s20 = Fma.MultiplyAdd(Vector256.Load(r2 + i), a0, s20);
            s21 = Fma.MultiplyAdd(Vector256.Load(r2 + i + 8), a1, s21);
            s30 = Fma.MultiplyAdd(Vector256.Load(r3 + i), a0, s30);
            s31 = Fma.MultiplyAdd(Vector256.Load(r3 + i + 8), a1, s31);
        }

        y[0] = FinishWide(s00 + s01, r0, a, i, k);
        y[1] = FinishWide(s10 + s11, r1, a, i, k);
        y[2] = FinishWide(s20 + s21, r2, a, i, k);
        y[3] = FinishWide(s30 + s31, r3, a, i, k);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float FinishWide(Vector256<float> s, float* row, float* a, int i, int k)
    {
        float sum = VecDot256.HorizontalSum(s);
        for (; i < k; i++) sum += row[i] * a[i];
        return sum;
    }
}
