using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Parley.Inference.Tensors.X86;

/// <summary>
/// Eight Q8_0 or Q4_0 weight rows against four activation rows, for CPUs with AVX-512 (and AVX-VNNI).
/// The integer products are <see cref="Block32Vnni"/>'s (256-bit VPDPBUSD: .NET has no 512-bit VNNI),
/// but two rows' eight int32 lanes share one 512-bit register from there on, so converting them to
/// float, scaling and accumulating cost one instruction for two (row, token) pairs instead of one
/// each. Eight rows, not four: each token's activation block, bias and scale, loaded once per block,
/// then serve eight rows, and the eight rows' half scales are converted in one go. Every lane sees
/// exactly the operations of the 256-bit kernel in the same order (ggml's order), so the results are
/// bit-identical to it and to <see cref="VecDot256"/>. Sixteen accumulators, eight unpacked weight
/// blocks and four scale pairs take 28 of the 32 vector registers: the JIT spills three accumulators,
/// and the tile is still faster than two 4×4 tiles.
/// </summary>
internal static unsafe class Block32VnniAvx512
{
    public static bool Supported => Block32Vnni.Supported && Avx512F.IsSupported;

    /// <summary>Eight weight rows (rows apart by the stride) against four activation rows: y[t·yStride + r].</summary>
    public static delegate*<byte*, int, byte*, int, int, float*, int, void> Get8x4(GgmlType type) => !Supported ? null : type switch
    {
        GgmlType.Q8_0 => &Rows8Tokens4<Block32Vnni.Q8_0Block>,
        GgmlType.Q4_0 => &Rows8Tokens4<Block32Vnni.Q4_0Block>,
        _ => null,
    };

    /// <summary>acc + (two rows' w·x lanes, side by side) × d; <paramref name="bias"/> holds the lanes' bias correction.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Step(Vector512<float> acc, Vector256<int> bias, Vector256<byte> wa, Vector256<byte> wb, Vector256<sbyte> x, Vector512<float> d)
    {
        var low = AvxVnni.MultiplyWideningAndAdd(bias, wa, x).ToVector512Unsafe();
        var lanes = Avx512F.InsertVector256(low, AvxVnni.MultiplyWideningAndAdd(bias, wb, x), 1);
        return Avx512F.FusedMultiplyAdd(d, Avx512F.ConvertToVector512Single(lanes), acc);
    }

    /// <summary>The scales of rows <paramref name="row"/> and <paramref name="row"/>+1, each over one half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Pair(Vector512<float> rows, int row) =>
        Avx512F.PermuteVar16x32(rows, Vector512.Create(row, row, row, row, row, row, row, row, row + 1, row + 1, row + 1, row + 1, row + 1, row + 1, row + 1, row + 1));

    /// <summary>The eight rows' half scales of one block as floats in lanes 0..7.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Scales(byte* w, int stride) => Block32Vnni.Scales8(w, stride).ToVector512Unsafe();

    private static void Rows8Tokens4<TB>(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
        where TB : struct, Block32Vnni.IBlock
    {
        int nb = k / 32;
        int qo = ActivationLayout.QsOffset(DotType.Q8, k), so = ActivationLayout.QuadSumsOffset(k);
        // c{token}{rows}: the low half accumulates the first row, the high half the second.
        Vector512<float> c001 = default, c023 = default, c045 = default, c067 = default;
        Vector512<float> c101 = default, c123 = default, c145 = default, c167 = default;
        Vector512<float> c201 = default, c223 = default, c245 = default, c267 = default;
        Vector512<float> c301 = default, c323 = default, c345 = default, c367 = default;
        var shift = Vector256.Create((int)TB.BiasShift);
        for (int b = 0; b < nb; b++)
        {
            byte* wb = w + b * TB.Bytes;
            var u0 = TB.Unsigned(wb);
            var u1 = TB.Unsigned(wb + wStride);
            var u2 = TB.Unsigned(wb + 2 * wStride);
            var u3 = TB.Unsigned(wb + 3 * wStride);
            var u4 = TB.Unsigned(wb + 4 * wStride);
            var u5 = TB.Unsigned(wb + 5 * wStride);
            var u6 = TB.Unsigned(wb + 6 * wStride);
            var u7 = TB.Unsigned(wb + 7 * wStride);
            var dw = Scales(wb, wStride);
            var d01 = Pair(dw, 0);
            var d23 = Pair(dw, 2);
            var d45 = Pair(dw, 4);
            var d67 = Pair(dw, 6);

            byte* at = a;
            var x = Vector256.Load((sbyte*)(at + qo) + 32 * b);
            var s = Avx2.ShiftLeftLogicalVariable(Vector256.Load((int*)(at + so) + 8 * b), shift.AsUInt32());
            var dx = Vector512.Create(((float*)at)[b]);
            c001 = Step(c001, s, u0, u1, x, d01 * dx);
            c023 = Step(c023, s, u2, u3, x, d23 * dx);
            c045 = Step(c045, s, u4, u5, x, d45 * dx);
            c067 = Step(c067, s, u6, u7, x, d67 * dx);

            at += aStride;
            x = Vector256.Load((sbyte*)(at + qo) + 32 * b);
            s = Avx2.ShiftLeftLogicalVariable(Vector256.Load((int*)(at + so) + 8 * b), shift.AsUInt32());
            dx = Vector512.Create(((float*)at)[b]);
            c101 = Step(c101, s, u0, u1, x, d01 * dx);
            c123 = Step(c123, s, u2, u3, x, d23 * dx);
            c145 = Step(c145, s, u4, u5, x, d45 * dx);
            c167 = Step(c167, s, u6, u7, x, d67 * dx);

            at += aStride;
            x = Vector256.Load((sbyte*)(at + qo) + 32 * b);
            s = Avx2.ShiftLeftLogicalVariable(Vector256.Load((int*)(at + so) + 8 * b), shift.AsUInt32());
            dx = Vector512.Create(((float*)at)[b]);
            c201 = Step(c201, s, u0, u1, x, d01 * dx);
            c223 = Step(c223, s, u2, u3, x, d23 * dx);
            c245 = Step(c245, s, u4, u5, x, d45 * dx);
            c267 = Step(c267, s, u6, u7, x, d67 * dx);

            at += aStride;
            x = Vector256.Load((sbyte*)(at + qo) + 32 * b);
            s = Avx2.ShiftLeftLogicalVariable(Vector256.Load((int*)(at + so) + 8 * b), shift.AsUInt32());
            dx = Vector512.Create(((float*)at)[b]);
            c301 = Step(c301, s, u0, u1, x, d01 * dx);
            c323 = Step(c323, s, u2, u3, x, d23 * dx);
            c345 = Step(c345, s, u4, u5, x, d45 * dx);
            c367 = Step(c367, s, u6, u7, x, d67 * dx);
        }

        Store(y, c001, c023, c045, c067);
        Store(y + yStride, c101, c123, c145, c167);
        Store(y + 2 * yStride, c201, c223, c245, c267);
        Store(y + 3 * yStride, c301, c323, c345, c367);
    }

    /// <summary>
    /// y[0..7] = ggml's horizontal sum of each row's eight lanes, as <see cref="VecDot256.HorizontalSums"/>
    /// does it, for the eight rows at once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* y, Vector512<float> c01, Vector512<float> c23, Vector512<float> c45, Vector512<float> c67)
    {
        // hi + lo of every row: [r0, r1, r2, r3] and [r4, r5, r6, r7], four lanes each
        var r = Avx512F.Shuffle4x128(c01, c23, 0xDD) + Avx512F.Shuffle4x128(c01, c23, 0x88);
        var s = Avx512F.Shuffle4x128(c45, c67, 0xDD) + Avx512F.Shuffle4x128(c45, c67, 0x88);
        // Each 128-bit lane L: rows L and L+4 summed in its elements 0 and 2.
        var z = Avx512F.Shuffle(r, s, 0x44) + Avx512F.Shuffle(r, s, 0xEE);
        var w = z + Avx512F.Shuffle(z, z, 0xB1);
        Avx512F.PermuteVar16x32(w, Vector512.Create(0, 4, 8, 12, 2, 6, 10, 14, 0, 0, 0, 0, 0, 0, 0, 0)).GetLower().Store(y);
    }
}
