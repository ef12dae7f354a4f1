using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Parley.Inference.Tensors.X86;

/// <summary>
/// Dot-product kernels on 256-bit vectors (AVX2, with AVX-VNNI when present). They keep ggml's
/// AVX2 arithmetic order: per block, eight int32 lanes of four products each, converted to float and
/// accumulated with one FMA by the block's scale, then ggml's horizontal sum.
/// </summary>
internal static unsafe class VecDot256
{
    public static delegate*<byte*, byte*, int, float> Get(GgmlType type)
    {
        if (!Avx2.IsSupported || !Fma.IsSupported) return null;
        return type switch
        {
            GgmlType.F32 => &F32,
            GgmlType.F16 => &F16,
            GgmlType.BF16 => &SingleTokenDot.BF16,
            GgmlType.Q4_0 => &Q4_0,
            GgmlType.Q8_0 => &Q8_0,
            GgmlType.Q5_0 => &X86.Block32Avx2.Dot<X86.Q5_0Block32>,
            GgmlType.Q4_1 => &X86.Block32Avx2.Dot<X86.Q4_1Block32>,
            GgmlType.Q5_1 => &X86.Block32Avx2.Dot<X86.Q5_1Block32>,
            _ => null,
        };
    }

    /// <summary>hsum_float_8: (lo + hi), then pairs 0+2 and 1+3, then their sum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float HorizontalSum(Vector256<float> v)
    {
        var r = v.GetUpper() + v.GetLower();
        return (r.GetElement(0) + r.GetElement(2)) + (r.GetElement(1) + r.GetElement(3));
    }

    /// <summary>
    /// <see cref="HorizontalSum"/> of four vectors at once, in lanes 0..3: the same additions of the
    /// same pairs (IEEE addition is commutative), done for all four vectors by each instruction.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<float> HorizontalSums(Vector256<float> c0, Vector256<float> c1, Vector256<float> c2, Vector256<float> c3)
    {
        // hi + lo: [c0's | c1's], [c2's | c3's]
        var r01 = Avx.Permute2x128(c0, c1, 0x31) + Avx.Permute2x128(c0, c1, 0x20);
        var r23 = Avx.Permute2x128(c2, c3, 0x31) + Avx.Permute2x128(c2, c3, 0x20);
        // Each half: [r0 + r2, r1 + r3] of its two vectors, then their sum in elements 0 (c0), 2 (c2), 4 (c1), 6 (c3).
        var z = Avx.Shuffle(r01, r23, 0x44) + Avx.Shuffle(r01, r23, 0xEE);
        var w = z + Avx.Shuffle(z, z, 0xB1);
        return Avx2.PermuteVar8x32(w, Vector256.Create(0, 4, 2, 6, 0, 0, 0, 0)).GetLower();
    }

    /// <summary>The whole sums of four vectors of eight int32 lanes, in that order (integer sums: any order is exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<int> RowSums(Vector256<int> v0, Vector256<int> v1, Vector256<int> v2, Vector256<int> v3)
    {
        var h = Avx2.HorizontalAdd(Avx2.HorizontalAdd(v0, v1), Avx2.HorizontalAdd(v2, v3));
        return h.GetLower() + h.GetUpper();
    }

    /// <summary>Signed int8 × int8 → eight int32 sums of four adjacent products (ggml's mul_sum_i8_pairs).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<int> MulSumI8(Vector256<sbyte> x, Vector256<sbyte> y)
    {
        var ax = Avx2.Abs(x);
        var sy = Avx2.Sign(y, x);
        if (AvxVnni.IsSupported) return AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, ax, sy);
        var dot = Avx2.MultiplyAddAdjacent(ax, sy);
        return Avx2.MultiplyAddAdjacent(dot, Vector256<short>.One);
    }

    private static float Q8_0(byte* w, byte* a, int k)
    {
        int nb = k / 32;
        float* d = (float*)a;
        sbyte* qs = (sbyte*)(a + ActivationLayout.QsOffset(DotType.Q8, k));
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < nb; b++, w += 34)
        {
            var qx = Vector256.Load((sbyte*)(w + 2));
            var qy = Vector256.Load(qs + 32 * b);
            var scale = Vector256.Create(Fp16.ToFloat(*(ushort*)w) * d[b]);
            acc = Fma.MultiplyAdd(scale, Avx.ConvertToVector256Single(MulSumI8(qx, qy)), acc);
        }

        return HorizontalSum(acc);
    }

    private static float Q4_0(byte* w, byte* a, int k)
    {
        int nb = k / 32;
        float* d = (float*)a;
        sbyte* qs = (sbyte*)(a + ActivationLayout.QsOffset(DotType.Q8, k));
        var acc = Vector256<float>.Zero;
        var mask = Vector128.Create((byte)0x0F);
        var eight = Vector256.Create((sbyte)8);
        for (int b = 0; b < nb; b++, w += 18)
        {
            var raw = Vector128.Load(w + 2);
            var nibbles = Vector256.Create(raw & mask, (raw.AsUInt16() >>> 4).AsByte() & mask);
            var qx = nibbles.AsSByte() - eight;
            var qy = Vector256.Load(qs + 32 * b);
            var scale = Vector256.Create(Fp16.ToFloat(*(ushort*)w) * d[b]);
            acc = Fma.MultiplyAdd(scale, Avx.ConvertToVector256Single(MulSumI8(qx, qy)), acc);
        }

        return HorizontalSum(acc);
    }

    private static float F32(byte* w, byte* a, int k)
    {
        float* x = (float*)w, y = (float*)a;
        var s0 = Vector256<float>.Zero;
        var s1 = Vector256<float>.Zero;
        int i = 0;
        for (; i + 16 <= k; i += 16)
        {
            s0 = Fma.MultiplyAdd(Vector256.Load(x + i), Vector256.Load(y + i), s0);
            s1 = Fma.MultiplyAdd(Vector256.Load(x + i + 8), Vector256.Load(y + i + 8), s1);
        }

        float sum = HorizontalSum(s0 + s1);
        for (; i < k; i++) sum += x[i] * y[i];
        return sum;
    }

    private static float F16(byte* w, byte* a, int k)
    {
        ushort* x = (ushort*)w, y = (ushort*)a;
        var s0 = Vector256<float>.Zero;
        var s1 = Vector256<float>.Zero;
        int i = 0;
        for (; i + 16 <= k; i += 16)
        {
            s0 = Fma.MultiplyAdd(Fp16.ToFloat(Vector128.Load(x + i)), Fp16.ToFloat(Vector128.Load(y + i)), s0);
            s1 = Fma.MultiplyAdd(Fp16.ToFloat(Vector128.Load(x + i + 8)), Fp16.ToFloat(Vector128.Load(y + i + 8)), s1);
        }

        float sum = HorizontalSum(s0 + s1);
        for (; i < k; i++) sum += Fp16.ToFloat(x[i]) * Fp16.ToFloat(y[i]);
        return sum;
    }
}
