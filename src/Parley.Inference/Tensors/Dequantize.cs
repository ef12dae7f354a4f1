namespace Parley.Inference.Tensors;

/// <summary>
/// Scalar dequantization of every supported block layout into floats, written after ggml's
/// reference code. Used for embedding look-ups and as the ground truth the kernels are tested against.
/// </summary>
public static unsafe class Dequantize
{
    /// <summary>Dequantizes <paramref name="count"/> elements (a multiple of the block size) starting at <paramref name="src"/>.</summary>
    public static void Row(GgmlType type, byte* src, Span<float> dst)
    {
        int k = dst.Length;
        int nb = k / GgmlTypeInfo.BlockSize(type);
        int bb = GgmlTypeInfo.BlockBytes(type);
        switch (type)
        {
            case GgmlType.F32:
                new ReadOnlySpan<float>(src, k).CopyTo(dst);
                break;
            case GgmlType.F16:
                Fp16.ToFloat(new ReadOnlySpan<ushort>(src, k), dst);
                break;
            case GgmlType.BF16:
                for (int i = 0; i < k; i++) dst[i] = Fp16.BF16ToFloat(((ushort*)src)[i]);
                break;
            case GgmlType.Q4_0:
                for (int b = 0; b < nb; b++) Q4_0(src + b * bb, dst.Slice(b * 32, 32));
                break;
            case GgmlType.Q4_1:
                for (int b = 0; b < nb; b++) Q4_1(src + b * bb, dst.Slice(b * 32, 32));
                break;
            case GgmlType.Q5_0:
                for (int b = 0; b < nb; b++) Q5_0(src + b * bb, dst.Slice(b * 32, 32));
                break;
            case GgmlType.Q5_1:
                for (int b = 0; b < nb; b++) Q5_1(src + b * bb, dst.Slice(b * 32, 32));
                break;
            case GgmlType.Q8_0:
                for (int b = 0; b < nb; b++) Q8_0(src + b * bb, dst.Slice(b * 32, 32));
                break;
            case GgmlType.Q4_K:
                for (int b = 0; b < nb; b++) Q4_K(src + b * bb, dst.Slice(b * 256, 256));
                break;
            case GgmlType.Q5_K:
                for (int b = 0; b < nb; b++) Q5_K(src + b * bb, dst.Slice(b * 256, 256));
                break;
            case GgmlType.Q6_K:
                for (int b = 0; b < nb; b++) Q6_K(src + b * bb, dst.Slice(b * 256, 256));
                break;
            default:
                throw new NotSupportedException($"dequantizing {type} is not supported");
        }
    }

    private static float Half(byte* p) => Fp16.ToFloat(*(ushort*)p);

    private static void Q4_0(byte* x, Span<float> y)
    {
        float d = Half(x);
        byte* qs = x + 2;
        for (int j = 0; j < 16; j++)
        {
            y[j] = ((qs[j] & 0xF) - 8) * d;
            y[j + 16] = ((qs[j] >> 4) - 8) * d;
        }
    }

    private static void Q4_1(byte* x, Span<float> y)
    {
        float d = Half(x), m = Half(x + 2);
        byte* qs = x + 4;
        for (int j = 0; j < 16; j++)
        {
            y[j] = (qs[j] & 0xF) * d + m;
            y[j + 16] = (qs[j] >> 4) * d + m;
        }
    }

    private static void Q5_0(byte* x, Span<float> y)
    {
        float d = Half(x);
        uint qh = *(uint*)(x + 2);
        byte* qs = x + 6;
        for (int j = 0; j < 16; j++)
        {
            int h0 = (int)((qh >> j) << 4) & 0x10;
            int h1 = (int)(qh >> (j + 12)) & 0x10;
            y[j] = (((qs[j] & 0xF) | h0) - 16) * d;
            y[j + 16] = (((qs[j] >> 4) | h1) - 16) * d;
        }
    }

    private static void Q5_1(byte* x, Span<float> y)
    {
        float d = Half(x), m = Half(x + 2);
        uint qh = *(uint*)(x + 4);
        byte* qs = x + 8;
        for (int j = 0; j < 16; j++)
        {
            int h0 = (int)((qh >> j) << 4) & 0x10;
            int h1 = (int)(qh >> (j + 12)) & 0x10;
            y[j] = ((qs[j] & 0xF) | h0) * d + m;
            y[j + 16] = ((qs[j] >> 4) | h1) * d + m;
        }
    }

    private static void Q8_0(byte* x, Span<float> y)
    {
        float d = Half(x);
        sbyte* qs = (sbyte*)(x + 2);
        for (int j = 0; j < 32; j++) y[j] = qs[j] * d;
    }

    /// <summary>The 6-bit scale and min of sub-block <paramref name="j"/> packed in 12 bytes (Q4_K, Q5_K).</summary>
    internal static void ScaleMinK4(int j, byte* q, out int sc, out int m)
    {
        if (j < 4)
        {
            sc = q[j] & 63;
            m = q[j + 4] & 63;
        }
        else
        {
            sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
            m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
        }
    }

    private static void Q4_K(byte* x, Span<float> y)
    {
        float d = Half(x), min = Half(x + 2);
        byte* scales = x + 4;
        byte* q = x + 16;
        int o = 0;
        for (int j = 0, s = 0; j < 256; j += 64, s += 2)
        {
            ScaleMinK4(s, scales, out int sc1, out int m1);
            ScaleMinK4(s + 1, scales, out int sc2, out int m2);
            float d1 = d * sc1, dm1 = min * m1, d2 = d * sc2, dm2 = min * m2;
            for (int l = 0; l < 32; l++) y[o++] = d1 * (q[l] & 0xF) - dm1;
            for (int l = 0; l < 32; l++) y[o++] = d2 * (q[l] >> 4) - dm2;
            q += 32;
        }
    }

    private static void Q5_K(byte* x, Span<float> y)
    {
        float d = Half(x), min = Half(x + 2);
        byte* scales = x + 4;
        byte* qh = x + 16;
        byte* ql = x + 48;
        int o = 0, u1 = 1, u2 = 2;
        for (int j = 0, s = 0; j < 256; j += 64, s += 2)
        {
            ScaleMinK4(s, scales, out int sc1, out int m1);
            ScaleMinK4(s + 1, scales, out int sc2, out int m2);
            float d1 = d * sc1, dm1 = min * m1, d2 = d * sc2, dm2 = min * m2;
            for (int l = 0; l < 32; l++) y[o++] = d1 * ((ql[l] & 0xF) + ((qh[l] & u1) != 0 ? 16 : 0)) - dm1;
            for (int l = 0; l < 32; l++) y[o++] = d2 * ((ql[l] >> 4) + ((qh[l] & u2) != 0 ? 16 : 0)) - dm2;
            ql += 32;
            u1 <<= 2;
            u2 <<= 2;
        }
    }

    private static void Q6_K(byte* x, Span<float> y)
    {
        byte* ql = x;
        byte* qh = x + 128;
        sbyte* sc = (sbyte*)(x + Q6_KLayout.ScalesOffset);
        float d = Half(x + Q6_KLayout.DOffset);
        int o = 0;
        for (int n = 0; n < 256; n += 128)
        {
            for (int l = 0; l < 32; l++)
            {
                int s = l / 16;
                int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[o + l] = d * sc[s] * q1;
                y[o + l + 32] = d * sc[s + 2] * q2;
                y[o + l + 64] = d * sc[s + 4] * q3;
                y[o + l + 96] = d * sc[s + 6] * q4;
            }

            o += 128;
            ql += 64;
            qh += 32;
            sc += 8;
        }
    }
}
