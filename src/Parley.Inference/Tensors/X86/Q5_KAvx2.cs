using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Parley.Inference.Tensors.X86;

/// <summary>
/// Matrix kernels for Q5_K weights against Q8_K activations: each (row, token) result is
/// computed with exactly the operations of <see cref="VecDotK256"/> (so the bits are ggml's), but a
/// weight block's scales are decoded and its quants unpacked once for four tokens, and a token's
/// activations are loaded once for two rows. Four rows are done as two pairs, which keeps the
/// accumulators in registers.
/// </summary>
internal static unsafe class Q5_KAvx2
{
    public static delegate*<byte*, int, byte*, int, int, float*, int, void> Get4x4(GgmlType type) =>
        !Avx2.IsSupported || !Fma.IsSupported ? null : type switch
        {
            GgmlType.Q5_K => &Rows4Tokens4<Q5K>,
            _ => null,
        };

    /// <summary>Four weight rows against one token: four row dots.</summary>
    public static delegate*<byte*, int, byte*, int, int, float*, int, void> Get4x1(GgmlType type) =>
        !Avx2.IsSupported || !Fma.IsSupported ? null : type switch
        {
            GgmlType.Q5_K => &Rows4Tokens1<Q5K>,
            _ => null,
        };

    /// <summary>What the kernels need of a K-quant type: its row dot and its two-row kernel.</summary>
    private interface IKBlock
    {
        static abstract int Bytes { get; }

            static abstract float Dot(byte* w, byte* a, int k);

        static abstract void Rows2Tokens4(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride);
    }

    private readonly struct Q5K : IKBlock
    {
        public static int Bytes => 176;
        public static float Dot(byte* w, byte* a, int k) => VecDotK256.Q5_K(w, a, k);
        public static void Rows2Tokens4(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride) => Q5Rows2Tokens4<Q5K>(w, wStride, a, aStride, k, y, yStride);
    }

    private static void Rows4Tokens1<TB>(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
        where TB : struct, IKBlock
    {
        for (int r = 0; r < 4; r++) y[r] = TB.Dot(w + r * wStride, a, k);
    }

    private static void Rows4Tokens4<TB>(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
        where TB : struct, IKBlock
    {
        TB.Rows2Tokens4(w, wStride, a, aStride, k, y, yStride);
        TB.Rows2Tokens4(w + 2 * wStride, wStride, a, aStride, k, y + 2, yStride);
    }

    /// <summary>
    /// Q5_K: the nibbles with their fifth bits; the mins as an integer sum times dmin into a float, as ggml adds them.
    /// </summary>
    private static void Q5Rows2Tokens4<TB>(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
        where TB : struct, IKBlock
    {
        int nb = k / 256, qo = ActivationLayout.QsOffset(DotType.Q8K, k);
        var m4 = Vector256.Create((byte)0x0F);
        byte* a0 = a + 0 * aStride;
        float* yd0 = (float*)a0;
        short* bs0 = (short*)(a0 + 4 * nb);
        sbyte* qs0 = (sbyte*)(a0 + qo);
        byte* a1 = a + 1 * aStride;
        float* yd1 = (float*)a1;
        short* bs1 = (short*)(a1 + 4 * nb);
        sbyte* qs1 = (sbyte*)(a1 + qo);
        byte* a2 = a + 2 * aStride;
        float* yd2 = (float*)a2;
        short* bs2 = (short*)(a2 + 4 * nb);
        sbyte* qs2 = (sbyte*)(a2 + qo);
        byte* a3 = a + 3 * aStride;
        float* yd3 = (float*)a3;
        short* bs3 = (short*)(a3 + 4 * nb);
        sbyte* qs3 = (sbyte*)(a3 + qo);
        Vector256<float> acc00 = default;
        float summs00 = 0;
        Vector256<float> acc01 = default;
        float summs01 = 0;
        Vector256<float> acc02 = default;
        float summs02 = 0;
        Vector256<float> acc03 = default;
        float summs03 = 0;
        Vector256<float> acc10 = default;
        float summs10 = 0;
        Vector256<float> acc11 = default;
        float summs11 = 0;
        Vector256<float> acc12 = default;
        float summs12 = 0;
        Vector256<float> acc13 = default;
        float summs13 = 0;
        for (int b = 0; b < nb; b++)
        {
            byte* w0 = w + TB.Bytes * b, w1 = w0 + wStride;
            var ms0 = VecDotK256.ScalesAndMins(w0);
            float d0 = Fp16.ToFloat(*(ushort*)w0), dm0 = Fp16.ToFloat(*(ushort*)(w0 + 2));
            var mins0 = ms0.GetUpper();
            var sc0 = ms0.GetLower().AsByte();
            var hbits0 = Vector256.Load(w0 + 16);
            var ms1 = VecDotK256.ScalesAndMins(w1);
            float d1 = Fp16.ToFloat(*(ushort*)w1), dm1 = Fp16.ToFloat(*(ushort*)(w1 + 2));
            var mins1 = ms1.GetUpper();
            var sc1 = ms1.GetLower().AsByte();
            var hbits1 = Vector256.Load(w1 + 16);
            var sums0 = Vector256.Load(bs0 + 16 * b);
            var q8s0 = Ssse3.HorizontalAdd(sums0.GetLower(), sums0.GetUpper());
            var prod00 = Sse2.MultiplyAddAdjacent(mins0, q8s0);
            summs00 = MathF.FusedMultiplyAdd(-yd0[b] * dm0, prod00.GetElement(0) + prod00.GetElement(1) + prod00.GetElement(2) + prod00.GetElement(3), summs00);
            var prod10 = Sse2.MultiplyAddAdjacent(mins1, q8s0);
            summs10 = MathF.FusedMultiplyAdd(-yd0[b] * dm1, prod10.GetElement(0) + prod10.GetElement(1) + prod10.GetElement(2) + prod10.GetElement(3), summs10);
            var sums1 = Vector256.Load(bs1 + 16 * b);
            var q8s1 = Ssse3.HorizontalAdd(sums1.GetLower(), sums1.GetUpper());
            var prod01 = Sse2.MultiplyAddAdjacent(mins0, q8s1);
            summs01 = MathF.FusedMultiplyAdd(-yd1[b] * dm0, prod01.GetElement(0) + prod01.GetElement(1) + prod01.GetElement(2) + prod01.GetElement(3), summs01);
            var prod11 = Sse2.MultiplyAddAdjacent(mins1, q8s1);
            summs11 = MathF.FusedMultiplyAdd(-yd1[b] * dm1, prod11.GetElement(0) + prod11.GetElement(1) + prod11.GetElement(2) + prod11.GetElement(3), summs11);
            var sums2 = Vector256.Load(bs2 + 16 * b);
            var q8s2 = Ssse3.HorizontalAdd(sums2.GetLower(), sums2.GetUpper());
            var prod02 = Sse2.MultiplyAddAdjacent(mins0, q8s2);
            summs02 = MathF.FusedMultiplyAdd(-yd2[b] * dm0, prod02.GetElement(0) + prod02.GetElement(1) + prod02.GetElement(2) + prod02.GetElement(3), summs02);
            var prod12 = Sse2.MultiplyAddAdjacent(mins1, q8s2);
            summs12 = MathF.FusedMultiplyAdd(-yd2[b] * dm1, prod12.GetElement(0) + prod12.GetElement(1) + prod12.GetElement(2) + prod12.GetElement(3), summs12);
            var sums3 = Vector256.Load(bs3 + 16 * b);
            var q8s3 = Ssse3.HorizontalAdd(sums3.GetLower(), sums3.GetUpper());
            var prod03 = Sse2.MultiplyAddAdjacent(mins0, q8s3);
            summs03 = MathF.FusedMultiplyAdd(-yd3[b] * dm0, prod03.GetElement(0) + prod03.GetElement(1) + prod03.GetElement(2) + prod03.GetElement(3), summs03);
            var prod13 = Sse2.MultiplyAddAdjacent(mins1, q8s3);
            summs13 = MathF.FusedMultiplyAdd(-yd3[b] * dm1, prod13.GetElement(0) + prod13.GetElement(1) + prod13.GetElement(2) + prod13.GetElement(3), summs13);
            var s00 = Vector256<int>.Zero;
            var s01 = Vector256<int>.Zero;
            var s02 = Vector256<int>.Zero;
            var s03 = Vector256<int>.Zero;
            var s10 = Vector256<int>.Zero;
            var s11 = Vector256<int>.Zero;
            var s12 = Vector256<int>.Zero;
            var s13 = Vector256<int>.Zero;
            for (int j = 0; j < 4; j++)
            {
                var sl0 = Ssse3.Shuffle(sc0, VecDotK256.PairShuffle(2 * j)).AsInt16();
                var sh0 = Ssse3.Shuffle(sc0, VecDotK256.PairShuffle(2 * j + 1)).AsInt16();
                var scaleL0 = Vector256.Create(sl0, sl0);
                var scaleH0 = Vector256.Create(sh0, sh0);
                var bits0 = Vector256.Load(w0 + 48 + 32 * j);
                var lo0 = bits0 & m4;
                var hi0 = (bits0.AsUInt16() >>> 4).AsByte() & m4;
                lo0 |= VecDotK256.FifthBit(hbits0, 2 * j);
                hi0 |= VecDotK256.FifthBit(hbits0, 2 * j + 1);

                var sl1 = Ssse3.Shuffle(sc1, VecDotK256.PairShuffle(2 * j)).AsInt16();
                var sh1 = Ssse3.Shuffle(sc1, VecDotK256.PairShuffle(2 * j + 1)).AsInt16();
                var scaleL1 = Vector256.Create(sl1, sl1);
                var scaleH1 = Vector256.Create(sh1, sh1);
                var bits1 = Vector256.Load(w1 + 48 + 32 * j);
                var lo1 = bits1 & m4;
                var hi1 = (bits1.AsUInt16() >>> 4).AsByte() & m4;
                lo1 |= VecDotK256.FifthBit(hbits1, 2 * j);
                hi1 |= VecDotK256.FifthBit(hbits1, 2 * j + 1);

                var x0l = Vector256.Load(qs0 + 256 * b + 64 * j);
                var x0h = Vector256.Load(qs0 + 256 * b + 64 * j + 32);
                s00 += Avx2.MultiplyAddAdjacent(scaleL0, Avx2.MultiplyAddAdjacent(lo0, x0l)) + Avx2.MultiplyAddAdjacent(scaleH0, Avx2.MultiplyAddAdjacent(hi0, x0h));
                s10 += Avx2.MultiplyAddAdjacent(scaleL1, Avx2.MultiplyAddAdjacent(lo1, x0l)) + Avx2.MultiplyAddAdjacent(scaleH1, Avx2.MultiplyAddAdjacent(hi1, x0h));
                var x1l = Vector256.Load(qs1 + 256 * b + 64 * j);
                var x1h = Vector256.Load(qs1 + 256 * b + 64 * j + 32);
                s01 += Avx2.MultiplyAddAdjacent(scaleL0, Avx2.MultiplyAddAdjacent(lo0, x1l)) + Avx2.MultiplyAddAdjacent(scaleH0, Avx2.MultiplyAddAdjacent(hi0, x1h));
                s11 += Avx2.MultiplyAddAdjacent(scaleL1, Avx2.MultiplyAddAdjacent(lo1, x1l)) + Avx2.MultiplyAddAdjacent(scaleH1, Avx2.MultiplyAddAdjacent(hi1, x1h));
                var x2l = Vector256.Load(qs2 + 256 * b + 64 * j);
                var x2h = Vector256.Load(qs2 + 256 * b + 64 * j + 32);
                s02 += Avx2.MultiplyAddAdjacent(scaleL0, Avx2.MultiplyAddAdjacent(lo0, x2l)) + Avx2.MultiplyAddAdjacent(scaleH0, Avx2.MultiplyAddAdjacent(hi0, x2h));
                s12 += Avx2.MultiplyAddAdjacent(scaleL1, Avx2.MultiplyAddAdjacent(lo1, x2l)) + Avx2.MultiplyAddAdjacent(scaleH1, Avx2.MultiplyAddAdjacent(hi1, x2h));
                var x3l = Vector256.Load(qs3 + 256 * b + 64 * j);
                var x3h = Vector256.Load(qs3 + 256 * b + 64 * j + 32);
                s03 += Avx2.MultiplyAddAdjacent(scaleL0, Avx2.MultiplyAddAdjacent(lo0, x3l)) + Avx2.MultiplyAddAdjacent(scaleH0, Avx2.MultiplyAddAdjacent(hi0, x3h));
                s13 += Avx2.MultiplyAddAdjacent(scaleL1, Avx2.MultiplyAddAdjacent(lo1, x3l)) + Avx2.MultiplyAddAdjacent(scaleH1, Avx2.MultiplyAddAdjacent(hi1, x3h));
            }

            acc00 = Fma.MultiplyAdd(Vector256.Create(yd0[b] * d0), Avx.ConvertToVector256Single(s00), acc00);
            acc01 = Fma.MultiplyAdd(Vector256.Create(yd1[b] * d0), Avx.ConvertToVector256Single(s01), acc01);
            acc02 = Fma.MultiplyAdd(Vector256.Create(yd2[b] * d0), Avx.ConvertToVector256Single(s02), acc02);
            acc03 = Fma.MultiplyAdd(Vector256.Create(yd3[b] * d0), Avx.ConvertToVector256Single(s03), acc03);
            acc10 = Fma.MultiplyAdd(Vector256.Create(yd0[b] * d1), Avx.ConvertToVector256Single(s10), acc10);
            acc11 = Fma.MultiplyAdd(Vector256.Create(yd1[b] * d1), Avx.ConvertToVector256Single(s11), acc11);
            acc12 = Fma.MultiplyAdd(Vector256.Create(yd2[b] * d1), Avx.ConvertToVector256Single(s12), acc12);
            acc13 = Fma.MultiplyAdd(Vector256.Create(yd3[b] * d1), Avx.ConvertToVector256Single(s13), acc13);
        }

        y[0 * yStride + 0] = VecDot256.HorizontalSum(acc00) + summs00;
        y[0 * yStride + 1] = VecDot256.HorizontalSum(acc10) + summs10;
        y[1 * yStride + 0] = VecDot256.HorizontalSum(acc01) + summs01;
        y[1 * yStride + 1] = VecDot256.HorizontalSum(acc11) + summs11;
        y[2 * yStride + 0] = VecDot256.HorizontalSum(acc02) + summs02;
        y[2 * yStride + 1] = VecDot256.HorizontalSum(acc12) + summs12;
        y[3 * yStride + 0] = VecDot256.HorizontalSum(acc03) + summs03;
        y[3 * yStride + 1] = VecDot256.HorizontalSum(acc13) + summs13;
    }
}
