using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Parley.Inference.Tensors;

/// <summary>
/// Eight-lane float functions with ggml's numerics: the exponential of ggml_v_expf (softmax, SiLU)
/// and rounding to the nearest half (round-to-nearest-even, as F16C does).
/// </summary>
public static class VectorMath
{
    /// <summary>
    /// e^x as ggml_v_expf computes it in its AVX-512 form (ARM's optimized-routines algorithm, max
    /// error about 1.5 ulp): x = n·ln2 + b with n rounded by the 1.5·2^23 trick, 1 + a degree-5
    /// polynomial in b, times 2^n; where 2^n alone would overflow or underflow it is applied in two
    /// factors, which rounds once as VSCALEFPS does. Of ggml's two forms this one agrees with the
    /// llama.cpp reference outputs more often. The constants are ggml's hexadecimal floats written out.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        var r = Vector256.Create(12582912f);
        var z = Vector256.FusedMultiplyAdd(x, Vector256.Create(1.4426950216293335f), r);
        var n = z - r;
        var b = Vector256.FusedMultiplyAdd(-n, Vector256.Create(1.428606765330187e-06f), Vector256.FusedMultiplyAdd(-n, Vector256.Create(0.693145751953125f), x));
        var e = z.AsUInt32() << 23;
        var k = (e + Vector256.Create(1f).AsUInt32()).AsSingle();
        var absN = Vector256.Abs(n);
        var c = Vector256.GreaterThan(absN, Vector256.Create(126f));
        var u = b * b;
        var j = Vector256.FusedMultiplyAdd(
            Vector256.FusedMultiplyAdd(
                Vector256.FusedMultiplyAdd(Vector256.Create(0.008247390389442444f), b, Vector256.Create(0.04189976677298546f)),
                u,
                Vector256.FusedMultiplyAdd(Vector256.Create(0.16668395698070526f), b, Vector256.Create(0.4999912679195404f))),
            u,
            Vector256.FusedMultiplyAdd(Vector256.Create(0.9999994039535522f), b, Vector256<float>.One));
        var common = j * k;
        if (c.AsUInt32() == Vector256<uint>.Zero) return common;

        var g = Vector256.LessThanOrEqual(n, Vector256<float>.Zero).AsUInt32() & Vector256.Create(0x82000000u);
        var s1 = (g + Vector256.Create(0x7f000000u)).AsSingle();
        var s2 = (e - g).AsSingle();
        var d = Vector256.GreaterThan(absN, Vector256.Create(192f));
        var scaled = j * s2 * s1;
        return Vector256.ConditionalSelect(d, s1 * s1, Vector256.ConditionalSelect(c, scaled, common));
    }

    /// <summary>Rounds each lane to the nearest half and back to float, exactly as a float→half→float round trip.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> RoundToHalf(Vector256<float> x)
    {
        var bits = x.AsUInt32();
        var sign = bits & Vector256.Create(0x80000000u);
        var abs = bits & Vector256.Create(0x7fffffffu);
        // Normal halves: round the 23-bit mantissa to 10 bits, ties to even; a carry moves the exponent.
        var normal = (abs + Vector256.Create(0xfffu) + ((abs >>> 13) & Vector256<uint>.One)) & Vector256.Create(0xffffe000u);
        // Subnormal halves are multiples of 2^-24: adding 0.5 rounds there, ties to even.
        var small = ((abs.AsSingle() + Vector256.Create(0.5f)) - Vector256.Create(0.5f)).AsUInt32();
        var rounded = Vector256.ConditionalSelect(Vector256.LessThan(abs, Vector256.Create(0x38800000u)), small, normal);
        rounded = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(abs, Vector256.Create(0x477ff000u)), Vector256.Create(0x7f800000u), rounded);
        rounded = Vector256.ConditionalSelect(Vector256.GreaterThan(abs, Vector256.Create(0x7f800000u)), abs | Vector256.Create(0x00400000u), rounded);
        return (rounded | sign).AsSingle();
    }
}
