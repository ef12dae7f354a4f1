namespace Parley.Inference.Tensors;

/// <summary>
/// The form activations take before they meet a weight row, as in ggml's type traits
/// (vec_dot_type): int8 blocks of 32 for the classic quants, int8 super-blocks of 256 for the
/// K-quants, F16 for F16 weights, BF16 for BF16 weights, plain F32 for F32.
/// </summary>
public enum DotType
{
    F32,
    F16,
    BF16,
    /// <summary>Q8_0 / Q8_1: blocks of 32 int8 with a half-rounded scale, their integer sum and Q8_1's rounded d·sum.</summary>
    Q8,
    /// <summary>Q8_K: super-blocks of 256 int8 with a float scale and 16 partial sums.</summary>
    Q8K,
}

/// <summary>
/// Byte layout of one quantized activation row. Q8 rows hold float d[nb], int sum[nb], float s[nb],
/// then the int8 values at a 64-byte boundary, then for every group of four values their negated
/// sum as an int (what the matrix kernels need to take an unsigned weight bias back out);
/// Q8K rows hold float d[nb], short bsums[16·nb], then the values.
/// </summary>
public static class ActivationLayout
{
    public static DotType For(GgmlType weight) => weight switch
    {
        GgmlType.F32 => DotType.F32,
        GgmlType.F16 => DotType.F16,
        GgmlType.BF16 => DotType.BF16,
        GgmlType.Q4_0 or GgmlType.Q4_1 or GgmlType.Q5_0 or GgmlType.Q5_1 or GgmlType.Q8_0 => DotType.Q8,
        GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K => DotType.Q8K,
        _ => throw new NotSupportedException($"no matrix product for {weight} weights"),
    };

    private static int Align64(int x) => (x + 63) & ~63;

    public static int QsOffset(DotType t, int k) => t switch
    {
        DotType.Q8 => Align64(12 * (k / 32)),
        DotType.Q8K => Align64(36 * (k / 256)),
        _ => 0,
    };

    /// <summary>Where a Q8 row's negated sums of four (k/4 ints) start.</summary>
    public static int QuadSumsOffset(int k) => QsOffset(DotType.Q8, k) + k;

    public static int RowStride(DotType t, int k) => Align64(t switch
    {
        DotType.F32 => 4 * k,
        DotType.F16 or DotType.BF16 => 2 * k,
        DotType.Q8 => QuadSumsOffset(k) + k,
        DotType.Q8K => QsOffset(DotType.Q8K, k) + k,
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    });
}
