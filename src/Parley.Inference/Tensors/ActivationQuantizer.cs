using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Parley.Inference.Tensors;

/// <summary>
/// Converts an F32 activation row into its dot type, with ggml's x86 rounding so that the integer
/// dot products see exactly the values llama.cpp's do.
/// </summary>
public static unsafe class ActivationQuantizer
{
    public static void QuantizeRow(DotType type, ReadOnlySpan<float> x, byte* dst)
    {
        switch (type)
        {
            case DotType.F32:
                x.CopyTo(new Span<float>(dst, x.Length));
                break;
            case DotType.F16:
                Fp16.FromFloat(x, new Span<ushort>(dst, x.Length));
                break;
            case DotType.BF16:
                for (int i = 0; i < x.Length; i++) ((ushort*)dst)[i] = Fp16.FloatToBF16(x[i]);
                break;
            case DotType.Q8:
                Q8(x, dst, Avx2.IsSupported);
                break;
            case DotType.Q8K:
                Q8K(x, dst);
                break;
        }
    }

    /// <summary>quantize_row_q8_0/q8_1 (AVX path): d = amax/127 stored as half, q = round-half-even(x·127/amax).</summary>
    internal static void Q8(ReadOnlySpan<float> x, byte* row, bool vector)
    {
        int nb = x.Length / 32;
        float* ds = (float*)row;
        int* sums = (int*)(row + 4 * nb);
        float* ss = (float*)(row + 8 * nb);
        sbyte* qs = (sbyte*)(row + ActivationLayout.QsOffset(DotType.Q8, x.Length));
        int* quads = (int*)(row + ActivationLayout.QuadSumsOffset(x.Length));
        int first = 0;
        if (vector)
        {
            fixed (float* xp = x)
            {
                for (; first < nb; first++) Q8Block256(xp + first * 32, qs + first * 32, quads + first * 8, out ds[first], out sums[first], out ss[first]);
            }
        }

        for (int b = first; b < nb; b++)
        {
            var blk = x.Slice(b * 32, 32);
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = MathF.Max(amax, MathF.Abs(blk[j]));
            float d = amax / 127f;
            float id = amax != 0 ? 127f / amax : 0f;
            int sum = 0;
            for (int j = 0; j < 32; j++)
            {
                int q = (int)MathF.Round(blk[j] * id, MidpointRounding.ToEven);
                qs[b * 32 + j] = (sbyte)q;
                sum += q;
            }

            for (int j = 0; j < 8; j++)
            {
                sbyte* q = qs + b * 32 + 4 * j;
                quads[b * 8 + j] = -(q[0] + q[1] + q[2] + q[3]);
            }

            ds[b] = Fp16.Round(d);
            sums[b] = sum;
            ss[b] = Fp16.Round(d * sum);
        }
    }

    /// <summary>One Q8 block with 256-bit vectors; the same values as the scalar loop (same products, round-half-even).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q8Block256(float* x, sbyte* qs, int* quads, out float d16, out int sum, out float s16)
    {
        var v0 = Vector256.Load(x);
        var v1 = Vector256.Load(x + 8);
        var v2 = Vector256.Load(x + 16);
        var v3 = Vector256.Load(x + 24);
        var m = Vector256.Max(Vector256.Max(Vector256.Abs(v0), Vector256.Abs(v1)), Vector256.Max(Vector256.Abs(v2), Vector256.Abs(v3)));
        var m4 = Vector128.Max(m.GetLower(), m.GetUpper());
        float amax = MathF.Max(MathF.Max(m4[0], m4[1]), MathF.Max(m4[2], m4[3]));
        float d = amax / 127f;
        var id = Vector256.Create(amax != 0 ? 127f / amax : 0f);
        var q0 = Vector256.ConvertToInt32(Vector256.Round(v0 * id));
        var q1 = Vector256.ConvertToInt32(Vector256.Round(v1 * id));
        var q2 = Vector256.ConvertToInt32(Vector256.Round(v2 * id));
        var q3 = Vector256.ConvertToInt32(Vector256.Round(v3 * id));
        // Sums of four consecutive quants, negated (see ActivationLayout): two rounds of pairwise adds leave
        // them in the order 0 2 4 6 | 1 3 5 7, which one permute puts right.
        var h = Avx2.HorizontalAdd(Avx2.HorizontalAdd(q0, q1), Avx2.HorizontalAdd(q2, q3));
        Vector256.Store(-Avx2.PermuteVar8x32(h, Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7)), quads);
        var bytes = Vector256.Narrow(Vector256.Narrow(q0, q1), Vector256.Narrow(q2, q3));
        Vector256.Store(bytes, qs);
        sum = Vector256.Sum(q0 + q1 + q2 + q3);
        d16 = Fp16.Round(d);
        s16 = Fp16.Round(d * sum);
    }

    /// <summary>quantize_row_q8_K_ref: the signed extreme maps to -127, d = 1/iscale kept as float.</summary>
    private static void Q8K(ReadOnlySpan<float> x, byte* row)
    {
        int nb = x.Length / 256;
        float* ds = (float*)row;
        short* bsums = (short*)(row + 4 * nb);
        sbyte* qs = (sbyte*)(row + ActivationLayout.QsOffset(DotType.Q8K, x.Length));
        for (int b = 0; b < nb; b++)
        {
            var blk = x.Slice(b * 256, 256);
            sbyte* q = qs + b * 256;
            float max = 0, amax = 0;
            for (int j = 0; j < 256; j++)
            {
                float ax = MathF.Abs(blk[j]);
                if (ax > amax)
                {
                    amax = ax;
                    max = blk[j];
                }
            }

            if (amax == 0)
            {
                ds[b] = 0;
                new Span<byte>(q, 256).Clear();
                new Span<short>(bsums + b * 16, 16).Clear();
                continue;
            }

            float iscale = -127f / max;
            for (int j = 0; j < 256; j++) q[j] = (sbyte)Math.Min(127, NearestInt(iscale * blk[j]));
            for (int j = 0; j < 16; j++)
            {
                int s = 0;
                for (int i = 0; i < 16; i++) s += q[j * 16 + i];
                bsums[b * 16 + j] = (short)s;
            }

            ds[b] = 1 / iscale;
        }
    }

    /// <summary>ggml's nearest_int: round half to even via the 1.5·2^23 trick.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int NearestInt(float f)
    {
        float val = f + 12582912f;
        return (BitConverter.SingleToInt32Bits(val) & 0x007fffff) - 0x00400000;
    }
}
