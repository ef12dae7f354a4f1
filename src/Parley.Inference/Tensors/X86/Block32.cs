using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Parley.Inference.Tensors.X86;

/// <summary>
/// A weight type of 32-value blocks with a half scale d (and for Q4_1/Q5_1 a half min m), multiplied
/// against Q8_0/Q8_1 activations in ggml's lanes (<see cref="Block32Avx2"/>, <see cref="Block32Avx512"/>):
/// its 32 quants in value order, as maddubs takes them. A value is d·(q − Bias), or d·q + m.
/// </summary>
internal unsafe interface IBlock32
{
    static abstract int Bytes { get; }

    /// <summary>Whether the quants are signed bytes (Q8_0); otherwise they are stored unsigned.</summary>
    static abstract bool Signed { get; }

    /// <summary>What is taken off the stored unsigned quants (Q4_0: 8, Q5_0: 16), or 0.</summary>
    static abstract byte Bias { get; }

    /// <summary>Whether a half min m follows d (Q4_1, Q5_1): the block adds m·s, s the activations' d·Σx.</summary>
    static abstract bool HasMin { get; }

    /// <summary>The block's 32 quants as stored: signed, or unsigned (with <see cref="Bias"/> still on).</summary>
    static abstract Vector256<byte> Quants(byte* block);
}

/// <summary>How Q4 and Q5 blocks store their quants.</summary>
internal static unsafe class Block32Bits
{
    /// <summary>Sixteen bytes of nibbles: the low ones are values 0..15, the high ones 16..31.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Nibbles(byte* qs)
    {
        var raw = Vector128.Load(qs);
        var m4 = Vector128.Create((byte)0x0F);
        return Vector256.Create(raw & m4, (raw.AsUInt16() >>> 4).AsByte() & m4);
    }

    /// <summary>Bit i of <paramref name="qh"/> as value i's 16 (ggml's bytes_from_bits_32: byte i of qh to bytes 8i..8i+7, each tested against its own bit).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> FifthBits(uint qh)
    {
        var spread = Avx2.Shuffle(Vector256.Create(qh).AsByte(),
            Vector256.Create(0x0000000000000000ul, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303).AsByte());
        var bit = Vector256.Create(0x8040201008040201ul).AsByte();
        return Vector256.Equals(spread & bit, bit) & Vector256.Create((byte)0x10);
    }
}

internal readonly unsafe struct Q8_0Block32 : IBlock32
{
    public static int Bytes => 34;
    public static bool Signed => true;
    public static byte Bias => 0;
    public static bool HasMin => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Quants(byte* block) => Vector256.Load(block + 2);
}

internal readonly unsafe struct Q4_0Block32 : IBlock32
{
    public static int Bytes => 18;
    public static bool Signed => false;
    public static byte Bias => 8;
    public static bool HasMin => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Quants(byte* block) => Block32Bits.Nibbles(block + 2);
}

internal readonly unsafe struct Q5_0Block32 : IBlock32
{
    public static int Bytes => 22;
    public static bool Signed => false;
    public static byte Bias => 16;
    public static bool HasMin => false;

    /// <summary>d, four bytes of fifth bits, then the nibbles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Quants(byte* block) => Block32Bits.Nibbles(block + 6) | Block32Bits.FifthBits(*(uint*)(block + 2));
}

internal readonly unsafe struct Q4_1Block32 : IBlock32
{
    public static int Bytes => 20;
    public static bool Signed => false;
    public static byte Bias => 0;
    public static bool HasMin => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Quants(byte* block) => Block32Bits.Nibbles(block + 4);
}

internal readonly unsafe struct Q5_1Block32 : IBlock32
{
    public static int Bytes => 24;
    public static bool Signed => false;
    public static byte Bias => 0;
    public static bool HasMin => true;

    /// <summary>d, m, four bytes of fifth bits, then the nibbles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Quants(byte* block) => Block32Bits.Nibbles(block + 8) | Block32Bits.FifthBits(*(uint*)(block + 4));
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
            (GgmlType.Q4_1, true) => &Block32Avx512.Rows4Tokens4<Q4_1Block32>,
            (GgmlType.Q5_1, true) => &Block32Avx512.Rows4Tokens4<Q5_1Block32>,
            (GgmlType.Q8_0, false) => &Block32Avx2.Rows4Tokens4<Q8_0Block32>,
            (GgmlType.Q5_0, false) => &Block32Avx2.Rows4Tokens4<Q5_0Block32>,
            (GgmlType.Q4_0, false) => &Block32Avx2.Rows4Tokens4<Q4_0Block32>,
            (GgmlType.Q4_1, false) => &Block32Avx2.Rows4Tokens4<Q4_1Block32>,
            (GgmlType.Q5_1, false) => &Block32Avx2.Rows4Tokens4<Q5_1Block32>,
            _ => null,
        };

    /// <summary>Eight rows against four tokens: AVX-512 only, where registers hold its sixteen accumulators.</summary>
    public static delegate*<byte*, int, byte*, int, int, float*, int, void> Tile8x4(GgmlType type, KernelLevel level) =>
        level != KernelLevel.Vector512 || !Block32Avx512.Supported ? null : type switch
        {
            GgmlType.Q8_0 => &Block32Avx512.Rows8Tokens4<Q8_0Block32>,
            GgmlType.Q5_0 => &Block32Avx512.Rows8Tokens4<Q5_0Block32>,
            GgmlType.Q4_0 => &Block32Avx512.Rows8Tokens4<Q4_0Block32>,
            GgmlType.Q4_1 => &Block32Avx512.Rows8Tokens4<Q4_1Block32>,
            GgmlType.Q5_1 => &Block32Avx512.Rows8Tokens4<Q5_1Block32>,
            _ => null,
        };

    public static delegate*<byte*, int, byte*, int, int, float*, int, void> Tile4x1(GgmlType type, KernelLevel level) =>
        !Block32Avx2.Supported ? null : (type, level == KernelLevel.Vector512 && Block32Avx512.Supported) switch
        {
            (GgmlType.Q8_0, true) => &Block32Avx512.Rows4Tokens1<Q8_0Block32>,
            (GgmlType.Q5_0, true) => &Block32Avx512.Rows4Tokens1<Q5_0Block32>,
            (GgmlType.Q4_0, true) => &Block32Avx512.Rows4Tokens1<Q4_0Block32>,
            (GgmlType.Q4_1, true) => &Block32Avx512.Rows4Tokens1<Q4_1Block32>,
            (GgmlType.Q5_1, true) => &Block32Avx512.Rows4Tokens1<Q5_1Block32>,
            (GgmlType.Q8_0, false) => &Block32Avx2.Rows4Tokens1<Q8_0Block32>,
            (GgmlType.Q5_0, false) => &Block32Avx2.Rows4Tokens1<Q5_0Block32>,
            (GgmlType.Q4_0, false) => &Block32Avx2.Rows4Tokens1<Q4_0Block32>,
            (GgmlType.Q4_1, false) => &Block32Avx2.Rows4Tokens1<Q4_1Block32>,
            (GgmlType.Q5_1, false) => &Block32Avx2.Rows4Tokens1<Q5_1Block32>,
            _ => null,
        };
}
