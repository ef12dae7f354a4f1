using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Parley.Inference.Tensors.X86;

/// <summary>
/// Float weights (F32, F16, BF16) against a sequence's batch of tokens in the order of llamafile's
/// tinyBLAS in an AVX2 build (KN = 8), which llama.cpp runs for them: per (row, token) one eight-lane
/// FMA chain over the columns, eight at a time, then hsum_float_8. Both sides are widened to F32 first,
/// exactly: the rows of a tile once for all its tokens (row-major, k floats apart), the tokens once per
/// product as pairs interleaved by eight (token 2p's columns c..c+7, then token 2p+1's, 2k floats a
/// pair), so one 512-bit vector carries two tokens' chains against a row's eight values broadcast to
/// both halves: the AVX-512 tile does four rows × eight tokens with the 256-bit tiles' bits. Needs k a
/// multiple of eight, as tinyBLAS does.
/// </summary>
internal static unsafe class FloatChains
{
    public static bool Supported => Avx2.IsSupported && Fma.IsSupported;

    public static bool WideSupported => Avx512F.IsSupported && Supported;

    /// <summary>Token <paramref name="t"/>'s values <paramref name="x"/>, of a float type, widened into its slot of the pairs.</summary>
    public static void Interleave(GgmlType type, byte* x, int k, int t, float* pairs)
    {
        float* dst = pairs + (long)(t >> 1) * 2 * k + (t & 1) * 8;
        ushort* h = (ushort*)x;
        for (int c = 0; c < k; c += 8)
        {
            var v = type switch
            {
                GgmlType.F16 => Fp16.ToFloat(Vector128.Load(h + c)),
                GgmlType.BF16 => Fp16.BF16ToFloat(Vector128.Load(h + c)),
                _ => Vector256.Load((float*)x + c),
            };
            v.Store(dst + 2 * c);
        }
    }

    /// <summary>Rows of a float type widened to F32, k floats apart.</summary>
    public static void Widen(GgmlType type, byte* row, int rowBytes, int count, int k, float* dst)
    {
        for (int r = 0; r < count; r++, row += rowBytes, dst += k)
        {
            var to = new Span<float>(dst, k);
            switch (type)
            {
                case GgmlType.F16: Fp16.ToFloat(new ReadOnlySpan<ushort>(row, k), to); break;
                case GgmlType.BF16: Fp16.BF16ToFloat(new ReadOnlySpan<ushort>(row, k), to); break;
                default: new ReadOnlySpan<float>(row, k).CopyTo(to); break;
            }
        }
    }

    /// <summary>
    /// Rows r..r+3 against pairs p..p+3 (tokens 2p..2p+7): y[t · yStride + i] for token t and row
    /// r + i, with <paramref name="y"/> at token 2p, row r.
    /// </summary>
    public static void Rows4Pairs4(float* rows, int k, float* pairs, float* y, int yStride)
    {
        float* r0 = rows, r1 = rows + k, r2 = rows + 2 * k, r3 = rows + 3 * k;
        float* p0 = pairs, p1 = pairs + 2 * k, p2 = pairs + 4 * k, p3 = pairs + 6 * k;
        Vector512<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector512<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector512<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector512<float> c30 = default, c31 = default, c32 = default, c33 = default;
        for (int c = 0; c < k; c += 8)
        {
            var t0 = Vector512.Load(p0 + 2 * c);
            var t1 = Vector512.Load(p1 + 2 * c);
            var t2 = Vector512.Load(p2 + 2 * c);
            var t3 = Vector512.Load(p3 + 2 * c);
            var w = Both(r0 + c);
            c00 = Avx512F.FusedMultiplyAdd(w, t0, c00);
            c01 = Avx512F.FusedMultiplyAdd(w, t1, c01);
            c02 = Avx512F.FusedMultiplyAdd(w, t2, c02);
            c03 = Avx512F.FusedMultiplyAdd(w, t3, c03);
            w = Both(r1 + c);
            c10 = Avx512F.FusedMultiplyAdd(w, t0, c10);
            c11 = Avx512F.FusedMultiplyAdd(w, t1, c11);
            c12 = Avx512F.FusedMultiplyAdd(w, t2, c12);
            c13 = Avx512F.FusedMultiplyAdd(w, t3, c13);
            w = Both(r2 + c);
            c20 = Avx512F.FusedMultiplyAdd(w, t0, c20);
            c21 = Avx512F.FusedMultiplyAdd(w, t1, c21);
            c22 = Avx512F.FusedMultiplyAdd(w, t2, c22);
            c23 = Avx512F.FusedMultiplyAdd(w, t3, c23);
            w = Both(r3 + c);
            c30 = Avx512F.FusedMultiplyAdd(w, t0, c30);
            c31 = Avx512F.FusedMultiplyAdd(w, t1, c31);
            c32 = Avx512F.FusedMultiplyAdd(w, t2, c32);
            c33 = Avx512F.FusedMultiplyAdd(w, t3, c33);
        }

        StorePair(c00, c10, c20, c30, y, yStride);
        StorePair(c01, c11, c21, c31, y + 2 * yStride, yStride);
        StorePair(c02, c12, c22, c32, y + 4 * yStride, yStride);
        StorePair(c03, c13, c23, c33, y + 6 * yStride, yStride);
    }

    /// <summary>A row's eight values in both halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Both(float* row) => Avx512F.BroadcastVector256ToVector512((double*)row).AsSingle();

    /// <summary>Four rows' chains of a pair (first token lower, second upper) summed into y and y + yStride.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StorePair(Vector512<float> c0, Vector512<float> c1, Vector512<float> c2, Vector512<float> c3, float* y, int yStride)
    {
        VecDot256.HorizontalSums(c0.GetLower(), c1.GetLower(), c2.GetLower(), c3.GetLower()).Store(y);
        VecDot256.HorizontalSums(c0.GetUpper(), c1.GetUpper(), c2.GetUpper(), c3.GetUpper()).Store(y + yStride);
    }

    /// <summary>
    /// Rows r..r+3 against one pair: y[i] for its first token where <paramref name="first"/>,
    /// y[yStride + i] for its second where <paramref name="second"/>.
    /// </summary>
    public static void Rows4Pair(float* rows, int k, float* pair, float* y, int yStride, bool first, bool second)
    {
        float* r0 = rows, r1 = rows + k, r2 = rows + 2 * k, r3 = rows + 3 * k;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
        for (int c = 0; c < k; c += 8)
        {
            var t0 = Vector256.Load(pair + 2 * c);
            var t1 = Vector256.Load(pair + 2 * c + 8);
            var w = Vector256.Load(r0 + c);
            a0 = Fma.MultiplyAdd(w, t0, a0);
            b0 = Fma.MultiplyAdd(w, t1, b0);
            w = Vector256.Load(r1 + c);
            a1 = Fma.MultiplyAdd(w, t0, a1);
            b1 = Fma.MultiplyAdd(w, t1, b1);
            w = Vector256.Load(r2 + c);
            a2 = Fma.MultiplyAdd(w, t0, a2);
            b2 = Fma.MultiplyAdd(w, t1, b2);
            w = Vector256.Load(r3 + c);
            a3 = Fma.MultiplyAdd(w, t0, a3);
            b3 = Fma.MultiplyAdd(w, t1, b3);
        }

        if (first) VecDot256.HorizontalSums(a0, a1, a2, a3).Store(y);
        if (second) VecDot256.HorizontalSums(b0, b1, b2, b3).Store(y + yStride);
    }

    /// <summary>One row against one pair, as <see cref="Rows4Pair"/> does it.</summary>
    public static void Row1Pair(float* row, int k, float* pair, float* y, int yStride, bool first, bool second)
    {
        Vector256<float> a = default, b = default;
        for (int c = 0; c < k; c += 8)
        {
            var w = Vector256.Load(row + c);
            a = Fma.MultiplyAdd(w, Vector256.Load(pair + 2 * c), a);
            b = Fma.MultiplyAdd(w, Vector256.Load(pair + 2 * c + 8), b);
        }

        if (first) y[0] = VecDot256.HorizontalSum(a);
        if (second) y[yStride] = VecDot256.HorizontalSum(b);
    }
}
