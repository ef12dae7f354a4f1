namespace Parley.Inference.Tensors;

/// <summary>
/// Which of llama.cpp's kernel paths a token's products take, as its CPU backend picks them for a
/// sequence's tokens: the numbers differ by path, so a product follows the one llama.cpp would take.
/// One byte per activation row (<see cref="MatMul.Run(ReadOnlySpan{Product}, ActivationBuffer, TokenPath*)"/>).
/// </summary>
[Flags]
public enum TokenPath : byte
{
    None = 0,

    /// <summary>
    /// One of a sequence's tokens four at a time (all but the last count % 4), which the repacked
    /// kernels take as a gemm: repacked Q4_K then sums in the gemm order (<see cref="X86.GemmOrder"/>).
    /// </summary>
    InGemmGroup = 1,

    /// <summary>
    /// A sequence's only token (a decode step): a product of one row, which tinyBLAS declines, so
    /// F32 and F16 weights go through ggml_vec_dot (<see cref="SingleTokenDot"/>).
    /// </summary>
    Alone = 2,
}
