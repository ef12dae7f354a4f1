using Parley.Inference.Tensors.X86;
using Parley.Inference.Tensors.Scalar;

namespace Parley.Inference.Tensors;

/// <summary>Picks the dot-product kernel for a weight type at a kernel level.</summary>
public static unsafe class VecDot
{
    public static delegate*<byte*, byte*, int, float> Get(GgmlType type, KernelLevel level)
    {
        if (level == KernelLevel.Vector512)
        {
            var k = VecDot512.Get(type);
            if (k != null) return k;
            level = KernelLevel.Vector256;
        }

        if (level == KernelLevel.Vector256)
        {
            var k = VecDot256.Get(type);
            if (k != null) return k;
            k = VecDotK256.Get(type);
            if (k != null) return k;
        }

        return type switch
        {
            GgmlType.F32 => &F32,
            GgmlType.F16 => &F16,
            GgmlType.BF16 => &BF16,
            GgmlType.Q4_0 => &Q4_0,
            GgmlType.Q4_1 => &Q4_1,
            GgmlType.Q5_0 => &Q5_0,
            GgmlType.Q5_1 => &Q5_1,
            GgmlType.Q8_0 => &Q8_0,
            GgmlType.Q4_K => &Q4_K,
            GgmlType.Q5_K => &Q5_K,
            GgmlType.Q6_K => &Q6_K,
            _ => throw new NotSupportedException($"no dot product for {type}"),
        };
    }

    private static float F32(byte* w, byte* a, int k) => VecDotScalar.Dot(GgmlType.F32, w, a, k);
    private static float F16(byte* w, byte* a, int k) => VecDotScalar.Dot(GgmlType.F16, w, a, k);
    private static float BF16(byte* w, byte* a, int k) => VecDotScalar.Dot(GgmlType.BF16, w, a, k);
    private static float Q4_0(byte* w, byte* a, int k) => VecDotScalar.Dot(GgmlType.Q4_0, w, a, k);
    private static float Q4_1(byte* w, byte* a, int k) => VecDotScalar.Dot(GgmlType.Q4_1, w, a, k);
    private static float Q5_0(byte* w, byte* a, int k) => VecDotScalar.Dot(GgmlType.Q5_0, w, a, k);
    private static float Q5_1(byte* w, byte* a, int k) => VecDotScalar.Dot(GgmlType.Q5_1, w, a, k);
    private static float Q8_0(byte* w, byte* a, int k) => VecDotScalar.Dot(GgmlType.Q8_0, w, a, k);
    private static float Q4_K(byte* w, byte* a, int k) => VecDotScalar.Dot(GgmlType.Q4_K, w, a, k);
    private static float Q5_K(byte* w, byte* a, int k) => VecDotScalar.Dot(GgmlType.Q5_K, w, a, k);
    private static float Q6_K(byte* w, byte* a, int k) => VecDotScalar.Dot(GgmlType.Q6_K, w, a, k);
}
