using System.Runtime.InteropServices;

namespace Parley.Inference.Tensors.X86;

/// <summary>
/// Every half's float value, as ggml keeps one for CPUs without F16C: .NET has no F16C, and a block
/// scale then costs one load and a broadcast instead of a vector conversion. 256 KiB, built once.
/// </summary>
internal static unsafe class HalfTable
{
    public static readonly float* Floats = Build();

    private static float* Build()
    {
        var table = (float*)NativeMemory.AlignedAlloc(65536 * sizeof(float), 64);
        for (int h = 0; h < 65536; h++) table[h] = Fp16.ToFloat((ushort)h);
        return table;
    }
}
