using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Parley.Inference.Tensors;

/// <summary>
/// Four Q8_0 or Q4_0 weight rows against four activation rows, for CPUs with AVX-512 (and AVX-VNNI).
/// The integer products are <see cref="TileDot256"/>'s (256-bit VPDPBUSD: .NET has no 512-bit VNNI),
/// but two rows' eight int32 lanes share one 512-bit register from there on, so converting them to
/// float, scaling and accumulating cost one instruction for two (row, token) pairs instead of one
/// each. Every lane sees exactly the operations of the 256-bit kernel in the same order (ggml's
/// order), so the results are bit-identical to it and to <see cref="VecDot256"/>. Eight accumulators,
/// not sixteen: the JIT keeps them in registers.
/// </summary>
internal static unsafe class TileDot512
{
    public static bool Supported => TileDot256.Supported && Avx512F.IsSupported;

    /// <summary>Four weight rows (rows apart by the stride) against four activation rows: y[t·yStride + r].</summary>
    public static delegate*<byte*, int, byte*, int, int, float*, int, void> Get4x4(GgmlType type) => !Supported ? null : type switch
    {
        GgmlType.Q8_0 => &Rows4Tokens4<TileDot256.Q8_0Block>,
        GgmlType.Q4_0 => &Rows4Tokens4<TileDot256.Q4_0Block>,
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

    private static void Rows4Tokens4<TB>(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
        where TB : struct, TileDot256.IBlock
    {
        int nb = k / 32;
        int qo = ActivationLayout.QsOffset(DotType.Q8, k), so = ActivationLayout.QuadSumsOffset(k);
        byte* w0 = w, w1 = w + wStride, w2 = w + 2 * wStride, w3 = w + 3 * wStride;
        byte* a0 = a, a1 = a + aStride, a2 = a + 2 * aStride, a3 = a + 3 * aStride;
        // c{token}{rows}: the low half accumulates the first row, the high half the second.
        Vector512<float> c001 = default, c023 = default, c101 = default, c123 = default;
        Vector512<float> c201 = default, c223 = default, c301 = default, c323 = default;
        var shift = Vector256.Create((int)TB.BiasShift);
        for (int b = 0; b < nb; b++)
        {
            var u0 = TB.Unsigned(w0);
            var u1 = TB.Unsigned(w1);
            var u2 = TB.Unsigned(w2);
            var u3 = TB.Unsigned(w3);
            var dw = TileDot256.Scales(w0, w1, w2, w3).ToVector512Unsafe();
            var d01 = Pair(dw, 0);
            var d23 = Pair(dw, 2);

            var x = Vector256.Load((sbyte*)(a0 + qo) + 32 * b);
            var s = Avx2.ShiftLeftLogicalVariable(Vector256.Load((int*)(a0 + so) + 8 * b), shift.AsUInt32());
            var dx = Vector512.Create(((float*)a0)[b]);
            c001 = Step(c001, s, u0, u1, x, d01 * dx);
            c023 = Step(c023, s, u2, u3, x, d23 * dx);

            x = Vector256.Load((sbyte*)(a1 + qo) + 32 * b);
            s = Avx2.ShiftLeftLogicalVariable(Vector256.Load((int*)(a1 + so) + 8 * b), shift.AsUInt32());
            dx = Vector512.Create(((float*)a1)[b]);
            c101 = Step(c101, s, u0, u1, x, d01 * dx);
            c123 = Step(c123, s, u2, u3, x, d23 * dx);

            x = Vector256.Load((sbyte*)(a2 + qo) + 32 * b);
            s = Avx2.ShiftLeftLogicalVariable(Vector256.Load((int*)(a2 + so) + 8 * b), shift.AsUInt32());
            dx = Vector512.Create(((float*)a2)[b]);
            c201 = Step(c201, s, u0, u1, x, d01 * dx);
            c223 = Step(c223, s, u2, u3, x, d23 * dx);

            x = Vector256.Load((sbyte*)(a3 + qo) + 32 * b);
            s = Avx2.ShiftLeftLogicalVariable(Vector256.Load((int*)(a3 + so) + 8 * b), shift.AsUInt32());
            dx = Vector512.Create(((float*)a3)[b]);
            c301 = Step(c301, s, u0, u1, x, d01 * dx);
            c323 = Step(c323, s, u2, u3, x, d23 * dx);

            w0 += TB.Bytes;
            w1 += TB.Bytes;
            w2 += TB.Bytes;
            w3 += TB.Bytes;
        }

        Store(y, c001, c023);
        Store(y + yStride, c101, c123);
        Store(y + 2 * yStride, c201, c223);
        Store(y + 3 * yStride, c301, c323);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* y, Vector512<float> c01, Vector512<float> c23)
    {
        y[0] = VecDot256.HorizontalSum(c01.GetLower());
        y[1] = VecDot256.HorizontalSum(c01.GetUpper());
        y[2] = VecDot256.HorizontalSum(c23.GetLower());
        y[3] = VecDot256.HorizontalSum(c23.GetUpper());
    }
}
