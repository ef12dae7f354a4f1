namespace Parley.Inference.Tensors.X86;

/// <summary>Dot-product kernels on 512-bit vectors (AVX-512 BW).</summary>
internal static unsafe class VecDot512
{
    public static delegate*<byte*, byte*, int, float> Get(GgmlType type) => type switch
    {
        GgmlType.Q4_K when X86.Q4_KAvx512.Supported => &X86.Q4_KHeader.Dot<X86.Q4_KAvx512>,
        _ => null,
    };
}
