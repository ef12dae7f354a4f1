using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Parley.Inference.Tensors;

/// <summary>
/// IEEE half and bfloat16 conversions with round-to-nearest-even, as ggml's CPU backend does them
/// (F16C for half; ggml_compute_fp32_to_bf16 for bfloat16).
/// </summary>
public static class Fp16
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToFloat(ushort h) => (float)BitConverter.UInt16BitsToHalf(h);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FromFloat(float f) => BitConverter.HalfToUInt16Bits((Half)f);

    /// <summary>Rounds a float to the nearest half and back: the value ggml stores for block scales.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Round(float f) => (float)(Half)f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float BF16ToFloat(ushort b) => BitConverter.Int32BitsToSingle(b << 16);

    public static ushort FloatToBF16(float f)
    {
        uint u = BitConverter.SingleToUInt32Bits(f);
        if ((u & 0x7fffffff) > 0x7f800000) return (ushort)((u >> 16) | 64); // quiet NaN
        return (ushort)((u + (0x7fff + ((u >> 16) & 1))) >> 16);
    }

    /// <summary>
    /// Eight halves to eight floats without F16C (not exposed by .NET): shifting the exponent and
    /// mantissa into float position and scaling by 2^112 is exact for normals and subnormals;
    /// infinities and NaNs get their exponent forced to all ones.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ToFloat(Vector128<ushort> h)
    {
        Vector256<uint> w = Vector256.WidenLower(h.ToVector256Unsafe()) ;
        return ToFloatWidened(w);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ToFloatWidened(Vector256<uint> w)
    {
        Vector256<uint> sign = (w & Vector256.Create(0x8000u)) << 16;
        Vector256<uint> em = w & Vector256.Create(0x7fffu);
        Vector256<float> f = (em << 13).AsSingle() * Vector256.Create(5.192296858534828e33f); // 2^112
        Vector256<uint> special = Vector256.GreaterThanOrEqual(em, Vector256.Create(0x7c00u)) & Vector256.Create(0x7f800000u);
        return (f.AsUInt32() | special | sign).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ToFloat(Vector256<ushort> h)
    {
        Vector512<uint> w = Vector512.WidenLower(h.ToVector512Unsafe());
        Vector512<uint> sign = (w & Vector512.Create(0x8000u)) << 16;
        Vector512<uint> em = w & Vector512.Create(0x7fffu);
        Vector512<float> f = (em << 13).AsSingle() * Vector512.Create(5.192296858534828e33f);
        Vector512<uint> special = Vector512.GreaterThanOrEqual(em, Vector512.Create(0x7c00u)) & Vector512.Create(0x7f800000u);
        return (f.AsUInt32() | special | sign).AsSingle();
    }

    public static void ToFloat(ReadOnlySpan<ushort> src, Span<float> dst)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= src.Length; i += 8) ToFloat(Vector128.Create(src.Slice(i, 8))).CopyTo(dst.Slice(i, 8));
        }

        for (; i < src.Length; i++) dst[i] = ToFloat(src[i]);
    }

    /// <summary>Eight bfloat16 values to floats: the upper halves of their bits, exactly.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> BF16ToFloat(Vector128<ushort> b) => (Vector256.WidenLower(b.ToVector256Unsafe()) << 16).AsSingle();

    public static void BF16ToFloat(ReadOnlySpan<ushort> src, Span<float> dst)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= src.Length; i += 8) BF16ToFloat(Vector128.Create(src.Slice(i, 8))).CopyTo(dst.Slice(i, 8));
        }

        for (; i < src.Length; i++) dst[i] = BF16ToFloat(src[i]);
    }

    public static void FromFloat(ReadOnlySpan<float> src, Span<ushort> dst)
    {
        for (int i = 0; i < src.Length; i++) dst[i] = FromFloat(src[i]);
    }
}
