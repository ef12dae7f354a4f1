using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Parley.Inference.Tensors.X86;

/// <summary>
/// Matrix kernels for Q8_0 and Q4_0 weights on AVX-VNNI: four weight rows against four (or one)
/// activation rows at a time, so each weight block is loaded and unpacked once for several tokens
/// and each activation block once for several rows.
/// The results are bit-identical to <see cref="VecDot256"/> (and so to ggml): VPDPBUSD wants an
/// unsigned operand, so the weights are biased to unsigned (Q8_0 by 128, Q4_0 keeps its stored
/// 0..15) and every int32 lane starts from the bias times the negated sum of its four activations
/// (kept with the activation row), which leaves exactly the lane ggml's sign trick produces.
/// </summary>
internal static unsafe class Block32Vnni
{
    public static bool Supported => AvxVnni.IsSupported && Fma.IsSupported;

    /// <summary>Four weight rows (rows apart by the stride) against four activation rows: y[t·yStride + r].</summary>
    public static delegate*<byte*, int, byte*, int, int, float*, int, void> Get4x4(GgmlType type) => !Supported ? null : type switch
    {
        GgmlType.Q8_0 => &Rows4Tokens4<Q8_0Block>,
        GgmlType.Q4_0 => &Rows4Tokens4<Q4_0Block>,
        _ => null,
    };

    /// <summary>Four weight rows against one activation row.</summary>
    public static delegate*<byte*, int, byte*, int, int, float*, int, void> Get4x1(GgmlType type) => !Supported ? null : type switch
    {
        GgmlType.Q8_0 => &Rows4Tokens1<Q8_0Block>,
        GgmlType.Q4_0 => &Rows4Tokens1<Q4_0Block>,
        _ => null,
    };

    internal interface IBlock
    {
        static abstract int Bytes { get; }

        /// <summary>log2 of the bias added to make the quants unsigned.</summary>
        static abstract byte BiasShift { get; }

        static abstract Vector256<byte> Unsigned(byte* block);

        /// <summary>The block's integer dot with 32 activations, scalar: what every scalar reference sums (ggml's and the whole-block order's).</summary>
        static abstract int IntDot(byte* block, sbyte* x);

        /// <summary>The block's 32 quants, signed (what ggml's AVX2 sign trick takes).</summary>
        static abstract Vector256<sbyte> Signed(byte* block);
    }

    internal readonly struct Q8_0Block : IBlock
    {
        public static int Bytes => 34;
        public static byte BiasShift => 7;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<byte> Unsigned(byte* block) => Vector256.Load(block + 2) ^ Vector256.Create((byte)0x80);

        public static int IntDot(byte* block, sbyte* x)
        {
            sbyte* q = (sbyte*)(block + 2);
            int sum = 0;
            for (int j = 0; j < 32; j++) sum += q[j] * x[j];
            return sum;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<sbyte> Signed(byte* block) => Vector256.Load((sbyte*)(block + 2));
    }

    internal readonly struct Q4_0Block : IBlock
    {
        public static int Bytes => 18;
        public static byte BiasShift => 3;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<byte> Unsigned(byte* block)
        {
            var raw = Vector128.Load(block + 2);
            var mask = Vector128.Create((byte)0x0F);
            return Vector256.Create(raw & mask, (raw.AsUInt16() >>> 4).AsByte() & mask);
        }

        public static int IntDot(byte* block, sbyte* x)
        {
            byte* q = block + 2;
            int sum = 0;
            for (int j = 0; j < 16; j++) sum += ((q[j] & 0xF) - 8) * x[j] + ((q[j] >> 4) - 8) * x[j + 16];
            return sum;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<sbyte> Signed(byte* block) => Unsigned(block).AsSByte() - Vector256.Create((sbyte)8);
    }

    /// <summary>acc + (w·x lanes) × d, where <paramref name="bias"/> holds the lanes' bias correction.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Step(Vector256<float> acc, Vector256<int> bias, Vector256<byte> w, Vector256<sbyte> x, Vector256<float> d) =>
        Fma.MultiplyAdd(d, Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(bias, w, x)), acc);

    /// <summary>Lane <paramref name="r"/> of <paramref name="v"/> in every lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Lane(Vector256<float> v, int r) => Avx2.PermuteVar8x32(v, Vector256.Create(r));

    /// <summary>The four rows' half scales of block <paramref name="b"/> as floats in lanes 0..3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Scales(byte* w0, byte* w1, byte* w2, byte* w3) =>
        Fp16.ToFloat(Vector128.CreateScalar(PackedScales(w0, w1, w2, w3)).AsUInt16());

    /// <summary>The half scales of eight rows' blocks (rows apart by the stride) as floats in lanes 0..7.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Scales8(byte* w, int stride)
    {
        ulong lo = PackedScales(w, w + stride, w + 2 * stride, w + 3 * stride);
        w += 4 * stride;
        ulong hi = PackedScales(w, w + stride, w + 2 * stride, w + 3 * stride);
        return Fp16.ToFloat(Vector128.Create(lo, hi).AsUInt16());
    }

    /// <summary>
    /// Four blocks' half scales packed in a general register, to be moved to a vector at once:
    /// element inserts would form a serial chain.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong PackedScales(byte* w0, byte* w1, byte* w2, byte* w3) =>
        *(ushort*)w0 | (ulong)*(ushort*)w1 << 16 | (ulong)*(ushort*)w2 << 32 | (ulong)*(ushort*)w3 << 48;

    private static void Rows4Tokens4<TB>(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
        where TB : struct, IBlock
    {
        int nb = k / 32;
        int qo = ActivationLayout.QsOffset(DotType.Q8, k), so = ActivationLayout.QuadSumsOffset(k);
        byte* w0 = w, w1 = w + wStride, w2 = w + 2 * wStride, w3 = w + 3 * wStride;
        byte* a0 = a, a1 = a + aStride, a2 = a + 2 * aStride, a3 = a + 3 * aStride;
        Vector256<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector256<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector256<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector256<float> c30 = default, c31 = default, c32 = default, c33 = default;
        byte shift = TB.BiasShift;
        for (int b = 0; b < nb; b++)
        {
            var u0 = TB.Unsigned(w0);
            var u1 = TB.Unsigned(w1);
            var u2 = TB.Unsigned(w2);
            var u3 = TB.Unsigned(w3);
            // Each token's four scales d_r·dx in one product, then spread lane by lane (the same floats as scalar products).
            var dw = Scales(w0, w1, w2, w3);

            var x = Vector256.Load((sbyte*)(a0 + qo) + 32 * b);
            var s = Vector256.Load((int*)(a0 + so) + 8 * b) << shift;
            var dx = dw * Vector256.Create(((float*)a0)[b]);
            c00 = Step(c00, s, u0, x, Lane(dx, 0));
            c01 = Step(c01, s, u1, x, Lane(dx, 1));
            c02 = Step(c02, s, u2, x, Lane(dx, 2));
            c03 = Step(c03, s, u3, x, Lane(dx, 3));

            x = Vector256.Load((sbyte*)(a1 + qo) + 32 * b);
            s = Vector256.Load((int*)(a1 + so) + 8 * b) << shift;
            dx = dw * Vector256.Create(((float*)a1)[b]);
            c10 = Step(c10, s, u0, x, Lane(dx, 0));
            c11 = Step(c11, s, u1, x, Lane(dx, 1));
            c12 = Step(c12, s, u2, x, Lane(dx, 2));
            c13 = Step(c13, s, u3, x, Lane(dx, 3));

            x = Vector256.Load((sbyte*)(a2 + qo) + 32 * b);
            s = Vector256.Load((int*)(a2 + so) + 8 * b) << shift;
            dx = dw * Vector256.Create(((float*)a2)[b]);
            c20 = Step(c20, s, u0, x, Lane(dx, 0));
            c21 = Step(c21, s, u1, x, Lane(dx, 1));
            c22 = Step(c22, s, u2, x, Lane(dx, 2));
            c23 = Step(c23, s, u3, x, Lane(dx, 3));

            x = Vector256.Load((sbyte*)(a3 + qo) + 32 * b);
            s = Vector256.Load((int*)(a3 + so) + 8 * b) << shift;
            dx = dw * Vector256.Create(((float*)a3)[b]);
            c30 = Step(c30, s, u0, x, Lane(dx, 0));
            c31 = Step(c31, s, u1, x, Lane(dx, 1));
            c32 = Step(c32, s, u2, x, Lane(dx, 2));
            c33 = Step(c33, s, u3, x, Lane(dx, 3));

            w0 += TB.Bytes;
            w1 += TB.Bytes;
            w2 += TB.Bytes;
            w3 += TB.Bytes;
        }

        Store(y, c00, c01, c02, c03);
        Store(y + yStride, c10, c11, c12, c13);
        Store(y + 2 * yStride, c20, c21, c22, c23);
        Store(y + 3 * yStride, c30, c31, c32, c33);
    }

    private static void Rows4Tokens1<TB>(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
        where TB : struct, IBlock
    {
        int nb = k / 32;
        int qo = ActivationLayout.QsOffset(DotType.Q8, k), so = ActivationLayout.QuadSumsOffset(k);
        byte* w0 = w, w1 = w + wStride, w2 = w + 2 * wStride, w3 = w + 3 * wStride;
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
        byte shift = TB.BiasShift;
        int span = RowPrefetch.Span(wStride, nb);
        for (int b = 0; b < nb; b++)
        {
            RowPrefetch.Next4(w, wStride, b, span);
            var dw = Scales(w0, w1, w2, w3);
            var x = Vector256.Load((sbyte*)(a + qo) + 32 * b);
            var s = Vector256.Load((int*)(a + so) + 8 * b) << shift;
            var dx = dw * Vector256.Create(((float*)a)[b]);
            c0 = Step(c0, s, TB.Unsigned(w0), x, Lane(dx, 0));
            c1 = Step(c1, s, TB.Unsigned(w1), x, Lane(dx, 1));
            c2 = Step(c2, s, TB.Unsigned(w2), x, Lane(dx, 2));
            c3 = Step(c3, s, TB.Unsigned(w3), x, Lane(dx, 3));
            w0 += TB.Bytes;
            w1 += TB.Bytes;
            w2 += TB.Bytes;
            w3 += TB.Bytes;
        }

        Store(y, c0, c1, c2, c3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* y, Vector256<float> c0, Vector256<float> c1, Vector256<float> c2, Vector256<float> c3) =>
        VecDot256.HorizontalSums(c0, c1, c2, c3).Store(y);
}
