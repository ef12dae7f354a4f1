using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Parley.Inference.Tensors;

/// <summary>Which implementation of the kernels runs: tests pin each one, the engine uses the best.</summary>
public enum KernelLevel
{
    Scalar,
    Vector256,
    Vector512,
}

public static class KernelLevels
{
    /// <summary>The widest level this CPU runs (x86 with AVX2 or AVX-512; anything else is scalar).</summary>
    public static KernelLevel Best { get; } =
        Avx512BW.IsSupported && Vector512.IsHardwareAccelerated ? KernelLevel.Vector512
        : Avx2.IsSupported && Fma.IsSupported ? KernelLevel.Vector256
        : KernelLevel.Scalar;

    public static IEnumerable<KernelLevel> Available()
    {
        yield return KernelLevel.Scalar;
        if (Best >= KernelLevel.Vector256) yield return KernelLevel.Vector256;
        if (Best >= KernelLevel.Vector512) yield return KernelLevel.Vector512;
    }
}
