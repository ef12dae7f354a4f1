using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Parley.Inference.Tensors.X86;

/// <summary>
/// A weight type of 32-value blocks with one half scale, multiplied against Q8_0 activations in
/// ggml's lanes (<see cref="Block32Avx2"/>, <see cref="Block32Avx512"/>): its 32 quants in value order,
/// as maddubs takes them.
/// </summary>
internal unsafe interface IBlock32
{
    static abstract int Bytes { get; }

    /// <summary>0: the quants are signed bytes (Q8_0). Otherwise they are stored unsigned, value + Bias.</summary>
    static abstract byte Bias { get; }

    /// <summary>The block's 32 quants: signed, or unsigned with <see cref="Bias"/> added.</summary>
    static abstract Vector256<byte> Quants(byte* block);
}

internal readonly unsafe struct Q8_0Block32 : IBlock32
{
    public static int Bytes => 34;
    public static byte Bias => 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Quants(byte* block) => Vector256.Load(block + 2);
}

internal readonly unsafe struct Q4_0Block32 : IBlock32
{
    public static int Bytes => 18;
    public static byte Bias => 8;

    /// <summary>Low nibbles are values 0..15, high nibbles 16..31.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Quants(byte* block)
    {
        var raw = Vector128.Load(block + 2);
        var m4 = Vector128.Create((byte)0x0F);
        return Vector256.Create(raw & m4, (raw.AsUInt16() >>> 4).AsByte() & m4);
    }
}

internal readonly unsafe struct Q5_0Block32 : IBlock32
{
    public static int Bytes => 22;
    public static byte Bias => 16;

    /// <summary>Q4_0's nibbles (after the half scale and four bytes of fifth bits), with bit i of qh as value i's 16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Quants(byte* block)
    {
        var raw = Vector128.Load(block + 6);
        var m4 = Vector128.Create((byte)0x0F);
        var nibbles = Vector256.Create(raw & m4, (raw.AsUInt16() >>> 4).AsByte() & m4);
        // Byte i of qh's bits to bytes 8i..8i+7, each tested against its own bit (ggml's bytes_from_bits_32).
        var spread = System.Runtime.Intrinsics.X86.Avx2.Shuffle(Vector256.Create(*(uint*)(block + 2)).AsByte(),
            Vector256.Create(0x0000000000000000ul, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303).AsByte());
        var bit = Vector256.Create(0x8040201008040201ul).AsByte();
        return nibbles | (Vector256.Equals(spread & bit, bit) & Vector256.Create((byte)0x10));
    }
}

/// <summary>The <see cref="IBlock32"/> kernels for a weight type and vector level, where no VNNI tile serves it.</summary>
internal static unsafe class Block32Kernels
{
    public static delegate*<byte*, int, byte*, int, int, float*, int, void> Tile4x4(GgmlType type, KernelLevel level) =>
        !Block32Avx2.Supported ? null : (type, level == KernelLevel.Vector512 && Block32Avx512.Supported) switch
        {
            (GgmlType.Q8_0, true) => &Block32Avx512.Rows4Tokens4<Q8_0Block32>,
            (GgmlType.Q5_0, true) => &Block32Avx512.Rows4Tokens4<Q5_0Block32>,
            (GgmlType.Q4_0, true) => &Block32Avx512.Rows4Tokens4<Q4_0Block32>,
            (GgmlType.Q8_0, false) => &Block32Avx2.Rows4Tokens4<Q8_0Block32>,
            (GgmlType.Q5_0, false) => &Block32Avx2.Rows4Tokens4<Q5_0Block32>,
            (GgmlType.Q4_0, false) => &Block32Avx2.Rows4Tokens4<Q4_0Block32>,
            _ => null,
        };

    public static delegate*<byte*, int, byte*, int, int, float*, int, void> Tile4x1(GgmlType type, KernelLevel level) =>
        !Block32Avx2.Supported ? null : (type, level == KernelLevel.Vector512 && Block32Avx512.Supported) switch
        {
            (GgmlType.Q8_0, true) => &Block32Avx512.Rows4Tokens1<Q8_0Block32>,
            (GgmlType.Q5_0, true) => &Block32Avx512.Rows4Tokens1<Q5_0Block32>,
            (GgmlType.Q4_0, true) => &Block32Avx512.Rows4Tokens1<Q4_0Block32>,
            (GgmlType.Q8_0, false) => &Block32Avx2.Rows4Tokens1<Q8_0Block32>,
            (GgmlType.Q5_0, false) => &Block32Avx2.Rows4Tokens1<Q5_0Block32>,
            (GgmlType.Q4_0, false) => &Block32Avx2.Rows4Tokens1<Q4_0Block32>,
            _ => null,
        };
}
