namespace Parley.Inference.Tensors;

/// <summary>Dot-product kernels on 256-bit vectors (AVX2, AVX-VNNI where present).</summary>
internal static unsafe class VecDot256
{
    public static delegate*<byte*, byte*, int, float> Get(GgmlType type) => type switch
    {
        _ => null,
    };
}
