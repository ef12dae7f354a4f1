using Parley.Inference.Tensors.X86;

namespace Parley.Inference.Tensors.Scalar;

/// <summary>
/// Scalar dot products of one weight row with one activation row in its dot type: the reference
/// that every SIMD path is tested against. Integer sums are exact; floats are combined per block
/// as ggml's generic code does, except Q5_K, whose scalar dot sums the vector kernels' lanes and so
/// gives their bits, and Q4_K and Q6_K, whose super-blocks' whole integer sums each take one FMA at
/// every level (llama.cpp's repacked order for Q4_K; <see cref="X86.Q6_KWholeBlock"/>).
/// </summary>
public static unsafe class VecDotScalar
{
    public static float Dot(GgmlType type, byte* w, byte* a, int k) => type switch
    {
        GgmlType.F32 => F32((float*)w, (float*)a, k),
        GgmlType.F16 => F16((ushort*)w, (ushort*)a, k),
        GgmlType.BF16 => BF16((ushort*)w, (ushort*)a, k),
        GgmlType.Q4_0 => Q4_0(w, a, k),
        GgmlType.Q4_1 => Q4_1(w, a, k),
        GgmlType.Q5_0 => Q5_0(w, a, k),
        GgmlType.Q5_1 => Q5_1(w, a, k),
        GgmlType.Q8_0 => Q8_0(w, a, k),
        GgmlType.Q4_K => Q4_K(w, a, k),
        GgmlType.Q5_K => Q5_K(w, a, k),
        GgmlType.Q6_K => Q6_K(w, a, k),
        _ => throw new NotSupportedException($"no dot product for {type}"),
    };

    private static float F32(float* w, float* a, int k)
    {
        float s = 0;
        for (int i = 0; i < k; i++) s += w[i] * a[i];
        return s;
    }

    private static float F16(ushort* w, ushort* a, int k)
    {
        float s = 0;
        for (int i = 0; i < k; i++) s += Fp16.ToFloat(w[i]) * Fp16.ToFloat(a[i]);
        return s;
    }

    private static float BF16(ushort* w, ushort* a, int k)
    {
        float s = 0;
        for (int i = 0; i < k; i++) s += Fp16.BF16ToFloat(w[i]) * Fp16.BF16ToFloat(a[i]);
        return s;
    }

    /// <summary>
    /// A float type's dot in tinyBLAS's order (<see cref="X86.FloatChains"/>): eight FMA chains, lane i
    /// taking columns i, i + 8, …, then hsum_float_8. k must be a multiple of eight.
    /// </summary>
    internal static float FloatChains(GgmlType type, byte* w, byte* a, int k)
    {
        float X(byte* p, int i) => type switch
        {
            GgmlType.F16 => Fp16.ToFloat(((ushort*)p)[i]),
            GgmlType.BF16 => Fp16.BF16ToFloat(((ushort*)p)[i]),
            _ => ((float*)p)[i],
        };

        Span<float> lanes = stackalloc float[8];
        for (int i = 0; i < k; i++) lanes[i % 8] = MathF.FusedMultiplyAdd(X(w, i), X(a, i), lanes[i % 8]);
        float s0 = lanes[0] + lanes[4], s1 = lanes[1] + lanes[5], s2 = lanes[2] + lanes[6], s3 = lanes[3] + lanes[7];
        return (s0 + s2) + (s1 + s3);
    }

    /// <summary><see cref="FloatChains"/> of a float type, as a row dot.</summary>
    internal static delegate*<byte*, byte*, int, float> ChainsDot(GgmlType type) => type switch
    {
        GgmlType.F32 => &F32Chains,
        GgmlType.F16 => &F16Chains,
        GgmlType.BF16 => &BF16Chains,
        _ => throw new NotSupportedException($"{type} is not a float type"),
    };

    private static float F32Chains(byte* w, byte* a, int k) => FloatChains(GgmlType.F32, w, a, k);

    private static float F16Chains(byte* w, byte* a, int k) => FloatChains(GgmlType.F16, w, a, k);

    private static float BF16Chains(byte* w, byte* a, int k) => FloatChains(GgmlType.BF16, w, a, k);

    private static float Half(byte* p) => Fp16.ToFloat(*(ushort*)p);

    private struct Q8Row(byte* row, int k)
    {
        public readonly float* D = (float*)row;
        public readonly int* Sum = (int*)(row + 4 * (k / 32));
        public readonly float* S = (float*)(row + 8 * (k / 32));
        public readonly sbyte* Qs = (sbyte*)(row + ActivationLayout.QsOffset(DotType.Q8, k));
    }

    private static float Q4_0(byte* w, byte* a, int k)
    {
        var y = new Q8Row(a, k);
        float sum = 0;
        for (int b = 0; b < k / 32; b++, w += 18)
        {
            sum += Block32Vnni.Q4_0Block.IntDot(w, y.Qs + b * 32) * (Half(w) * y.D[b]);
        }

        return sum;
    }

    private static float Q4_1(byte* w, byte* a, int k)
    {
        var y = new Q8Row(a, k);
        float sum = 0;
        for (int b = 0; b < k / 32; b++, w += 20)
        {
            byte* qs = w + 4;
            sbyte* q8 = y.Qs + b * 32;
            int s = 0;
            for (int j = 0; j < 16; j++) s += (qs[j] & 0xF) * q8[j] + (qs[j] >> 4) * q8[j + 16];
            sum += (Half(w) * y.D[b]) * s + Half(w + 2) * y.S[b];
        }

        return sum;
    }

    private static float Q5_0(byte* w, byte* a, int k)
    {
        var y = new Q8Row(a, k);
        float sum = 0;
        for (int b = 0; b < k / 32; b++, w += 22)
        {
            uint qh = *(uint*)(w + 2);
            byte* qs = w + 6;
            sbyte* q8 = y.Qs + b * 32;
            int s = 0;
            for (int j = 0; j < 16; j++)
            {
                int h0 = (int)((qh >> j) << 4) & 0x10;
                int h1 = (int)(qh >> (j + 12)) & 0x10;
                s += (((qs[j] & 0xF) | h0) - 16) * q8[j] + (((qs[j] >> 4) | h1) - 16) * q8[j + 16];
            }

            sum += s * (Half(w) * y.D[b]);
        }

        return sum;
    }

    private static float Q5_1(byte* w, byte* a, int k)
    {
        var y = new Q8Row(a, k);
        float sum = 0;
        for (int b = 0; b < k / 32; b++, w += 24)
        {
            uint qh = *(uint*)(w + 4);
            byte* qs = w + 8;
            sbyte* q8 = y.Qs + b * 32;
            int s = 0;
            for (int j = 0; j < 16; j++)
            {
                int h0 = (int)((qh >> j) << 4) & 0x10;
                int h1 = (int)(qh >> (j + 12)) & 0x10;
                s += ((qs[j] & 0xF) | h0) * q8[j] + ((qs[j] >> 4) | h1) * q8[j + 16];
            }

            sum += (Half(w) * y.D[b]) * s + Half(w + 2) * y.S[b];
        }

        return sum;
    }

    private static float Q8_0(byte* w, byte* a, int k)
    {
        var y = new Q8Row(a, k);
        float sum = 0;
        for (int b = 0; b < k / 32; b++, w += 34)
        {
            sum += Block32Vnni.Q8_0Block.IntDot(w, y.Qs + b * 32) * (Half(w) * y.D[b]);
        }

        return sum;
    }

    private struct Q8KRow(byte* row, int k)
    {
        public readonly float* D = (float*)row;
        public readonly short* BSums = (short*)(row + 4 * (k / 256));
        public readonly sbyte* Qs = (sbyte*)(row + ActivationLayout.QsOffset(DotType.Q8K, k));
    }

    /// <summary>
    /// Q4_K in llama.cpp's repacked gemv order, which every Q4_K kernel here takes: per super-block the
    /// scaled integer dot Σ sc·(q·x) and the mins' Σ m·bsum are whole integers, each added with an FMA
    /// (by d·d_x and dmin·d_x) into its own sum; the row is their difference. No lanes: any kernel shape
    /// or vector width gives these bits.
    /// </summary>
    private static float Q4_K(byte* w, byte* a, int k) => Q4_K<X86.GemvOrder>(w, a, k);

    /// <summary>Q4_K in the repacked gemm order (one FMA per pair of sub-blocks), for tokens llama.cpp takes four at a time (<see cref="TokenPath.InGemmGroup"/>).</summary>
    internal static float Q4_KGemm(byte* w, byte* a, int k) => Q4_K<X86.GemmOrder>(w, a, k);

    private static float Q4_K<TO>(byte* w, byte* a, int k) where TO : struct, X86.IQ4KOrder
    {
        var y = new Q8KRow(a, k);
        float acc = 0, accMin = 0;
        for (int b = 0; b < k / 256; b++, w += 144)
        {
            byte* q = w + 16;
            sbyte* q8 = y.Qs + b * 256;
            int sumi = 0, summ = 0;
            for (int j = 0; j < 4; j++)
            {
                Dequantize.ScaleMinK4(2 * j, w + 4, out int sc1, out int m1);
                Dequantize.ScaleMinK4(2 * j + 1, w + 4, out int sc2, out int m2);
                int s1 = 0, s2 = 0;
                for (int l = 0; l < 32; l++)
                {
                    s1 += (q[l] & 0xF) * q8[l];
                    s2 += (q[l] >> 4) * q8[l + 32];
                }

                sumi += sc1 * s1 + sc2 * s2;
                short* bs = y.BSums + b * 16 + 4 * j;
                summ += m1 * (bs[0] + bs[1]) + m2 * (bs[2] + bs[3]);
                q += 32;
                q8 += 64;
                if (!TO.PerPair) continue;
                acc = MathF.FusedMultiplyAdd(sumi, Half(w) * y.D[b], acc);
                accMin = MathF.FusedMultiplyAdd(summ, Half(w + 2) * y.D[b], accMin);
                sumi = summ = 0;
            }

            if (TO.PerPair) continue;
            acc = MathF.FusedMultiplyAdd(sumi, Half(w) * y.D[b], acc);
            accMin = MathF.FusedMultiplyAdd(summ, Half(w + 2) * y.D[b], accMin);
        }

        return acc - accMin;
    }

    /// <summary>
    /// Q5_K in the eight lanes of the vector kernel (<see cref="VecDotK256.Q5_K"/>), so bit for bit
    /// its result: value l of each 32-value sub-block goes to lane l/4 times the sub-block's scale, one
    /// FMA by d per block; the mins' sums take one FMA by dmin each beside them.
    /// </summary>
    private static float Q5_K(byte* w, byte* a, int k)
    {
        var y = new Q8KRow(a, k);
        var acc = stackalloc float[8];
        var lanes = stackalloc int[8];
        for (int i = 0; i < 8; i++) acc[i] = 0;
        float summs = 0;
        for (int b = 0; b < k / 256; b++, w += 176)
        {
            byte* qh = w + 16;
            byte* ql = w + 48;
            sbyte* q8 = y.Qs + b * 256;
            short* bs = y.BSums + b * 16;
            int mins = 0, u1 = 1, u2 = 2;
            for (int i = 0; i < 8; i++) lanes[i] = 0;
            for (int j = 0; j < 4; j++)
            {
                Dequantize.ScaleMinK4(2 * j, w + 4, out int sc1, out int m1);
                Dequantize.ScaleMinK4(2 * j + 1, w + 4, out int sc2, out int m2);
                for (int l = 0; l < 32; l++)
                {
                    int lo = (ql[l] & 0xF) + ((qh[l] & u1) != 0 ? 16 : 0);
                    int hi = (ql[l] >> 4) + ((qh[l] & u2) != 0 ? 16 : 0);
                    lanes[l / 4] += sc1 * lo * q8[l] + sc2 * hi * q8[l + 32];
                }

                mins += m1 * (bs[4 * j] + bs[4 * j + 1]) + m2 * (bs[4 * j + 2] + bs[4 * j + 3]);
                ql += 32;
                q8 += 64;
                u1 <<= 2;
                u2 <<= 2;
            }

            float d = y.D[b] * Half(w), dmin = -y.D[b] * Half(w + 2);
            summs = MathF.FusedMultiplyAdd(dmin, mins, summs);
            for (int i = 0; i < 8; i++) acc[i] = MathF.FusedMultiplyAdd(d, lanes[i], acc[i]);
        }

        return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7])) + summs;
    }

    /// <summary>Q6_K in the whole-block order (<see cref="X86.Q6_KWholeBlock"/>): each super-block's integer, one FMA.</summary>
    internal static float Q6_K(byte* w, byte* a, int k)
    {
        int nb = k / 256;
        float* d = (float*)a;
        sbyte* q8 = (sbyte*)(a + ActivationLayout.QsOffset(DotType.Q8K, k));
        float acc = 0;
        for (int b = 0; b < nb; b++, w += Q6_KLayout.Bytes, q8 += 256)
        {
            int sum = 0;
            for (int i = 0; i < 256; i++) sum += ((sbyte*)(w + Q6_KLayout.ScalesOffset))[i / 16] * (Q6_KQuant(w, i) - 32) * q8[i];
            acc = MathF.FusedMultiplyAdd(sum, Fp16.ToFloat(*(ushort*)(w + Q6_KLayout.DOffset)) * d[b], acc);
        }

        return acc;
    }

    /// <summary>Quant <paramref name="i"/> (0..255) of a block, 0..63: ggml's layout of ql and qh.</summary>
    private static int Q6_KQuant(byte* w, int i)
    {
        int j = i / 128, v = i % 128 / 32, l = i % 32;
        int ql = w[64 * j + 32 * (v & 1) + l];
        return (v < 2 ? ql & 0xF : ql >> 4) | ((w[128 + 32 * j + l] >> (2 * v)) & 3) << 4;
    }
}
