using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Parley.Inference.Tensors.X86;

/// <summary>
/// Q6_K in <see cref="WholeBlockOrder"/>, every product: each super-block's whole integer dot,
/// Σ scale·Σ (q − 32)·x over its sixteen sub-blocks (exact, as ggml sums it too), converted once and
/// added with one FMA by d_w·d_x. ggml instead converts eight partial lanes per super-block; the
/// whole integer meets the reference bounds as well and lets eight rows share each multiply: with
/// AVX-VNNI the VPDPBUSD tiles here, without it <see cref="X86.Q6_KRows8Avx512"/>'s maddubs ones. Every
/// kernel gives the bits of <see cref="Scalar.VecDotScalar.Q6_K"/>.
/// </summary>
internal static unsafe class Q6_KWholeBlock
{
    private const int BlockBytes = Q6_KLayout.Bytes, ScalesOffset = Q6_KLayout.ScalesOffset, DOffset = Q6_KLayout.DOffset;

    /// <summary>One row, vectorized: ggml's lanes (<see cref="VecDotK256"/>), summed to the block's integer first.</summary>
    public static float VectorDot(byte* w, byte* a, int k)
    {
        int nb = k / 256;
        float* d = (float*)a;
        float acc = 0;
        for (int b = 0; b < nb; b++, w += BlockBytes)
        {
            acc = MathF.FusedMultiplyAdd(Vector256.Sum(Lanes(w, a, k, b)), Fp16.ToFloat(*(ushort*)(w + DOffset)) * d[b], acc);
        }

        return acc;
    }

    /// <summary>
    /// Four rows against one token. A single token gains nothing from transposing eight rows (the
    /// transposition would serve one token only): ggml's lanes per row take fewer instructions, and
    /// four rows' lanes are summed together.
    /// </summary>
    public static void Rows4Tokens1(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
    {
        int nb = k / 256;
        var c = Vector128<float>.Zero;
        int span = X86.RowPrefetch.Span(wStride, nb);
        for (int b = 0; b < nb; b++)
        {
            X86.RowPrefetch.Next4(w, wStride, b, span);
            byte* w0 = w + b * BlockBytes, w1 = w0 + wStride, w2 = w1 + wStride, w3 = w2 + wStride;
            var sums = VecDot256.RowSums(Lanes(w0, a, k, b), Lanes(w1, a, k, b), Lanes(w2, a, k, b), Lanes(w3, a, k, b));
            var dw = Block32Vnni.Scales(w0 + DOffset, w1 + DOffset, w2 + DOffset, w3 + DOffset).GetLower();
            c = Fma.MultiplyAdd(Sse2.ConvertToVector128Single(sums), dw * Vector128.Create(((float*)a)[b]), c);
        }

        c.Store(y);
    }

    /// <summary>
    /// Four rows against four tokens: a row at a time, each half block's quants and scales unpacked
    /// once for the four tokens. Two rows at a time kept 24 vectors live, past AVX2's sixteen
    /// registers: a third of that tile's instructions were stack accesses.
    /// </summary>
    public static void Rows4Tokens4(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
    {
        for (int r = 0; r < 4; r++)
        {
            if (AvxVnni.IsSupported) Rows1Tokens4<VecDotK256.Q6VnniLanes>(w + r * wStride, a, aStride, k, y + r, yStride);
            else Rows1Tokens4<VecDotK256.Q6Avx2Lanes>(w + r * wStride, a, aStride, k, y + r, yStride);
        }
    }

    private static void Rows1Tokens4<TL>(byte* w, byte* a, int aStride, int k, float* y, int yStride)
        where TL : struct, VecDotK256.IQ6Lanes
    {
        int nb = k / 256, qo = ActivationLayout.QsOffset(DotType.Q8K, k);
        byte* a0 = a, a1 = a + aStride, a2 = a + 2 * aStride, a3 = a + 3 * aStride;
        Vector128<float> c = default; // tokens in lanes
        for (int b = 0; b < nb; b++)
        {
            byte* w0 = w + BlockBytes * b;
            short* b0 = (short*)(a0 + 4 * nb) + 16 * b, b1 = (short*)(a1 + 4 * nb) + 16 * b, b2 = (short*)(a2 + 4 * nb) + 16 * b, b3 = (short*)(a3 + 4 * nb) + 16 * b;
            Vector256<int> s0 = -VecDotK256.Q6Offsets(w0, b0), s1 = -VecDotK256.Q6Offsets(w0, b1), s2 = -VecDotK256.Q6Offsets(w0, b2), s3 = -VecDotK256.Q6Offsets(w0, b3);
            for (int j = 0; j < 2; j++)
            {
                VecDotK256.Q6Quants(w0, j, out var q0, out var q1, out var q2, out var q3);
                TL.Scales(w0, j, out var sa, out var sb, out var sc, out var sd);
                int at = 256 * b + 128 * j;
                s0 += TL.Lanes(q0, q1, q2, q3, sa, sb, sc, sd, (sbyte*)(a0 + qo) + at);
                s1 += TL.Lanes(q0, q1, q2, q3, sa, sb, sc, sd, (sbyte*)(a1 + qo) + at);
                s2 += TL.Lanes(q0, q1, q2, q3, sa, sb, sc, sd, (sbyte*)(a2 + qo) + at);
                s3 += TL.Lanes(q0, q1, q2, q3, sa, sb, sc, sd, (sbyte*)(a3 + qo) + at);
            }

            var dx = Vector128.Create(((float*)a0)[b], ((float*)a1)[b], ((float*)a2)[b], ((float*)a3)[b]);
            c = Fma.MultiplyAdd(Sse2.ConvertToVector128Single(VecDot256.RowSums(s0, s1, s2, s3)), Vector128.Create(Fp16.ToFloat(*(ushort*)(w0 + DOffset))) * dx, c);
        }

        for (int t = 0; t < 4; t++) y[t * yStride] = c.GetElement(t);
    }

    /// <summary>Block <paramref name="b"/> (at <paramref name="w"/>) against the activations as eight exact int32 lanes (VNNI's where the CPU has it, else maddubs and madd).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Lanes(byte* w, byte* a, int k, int b)
    {
        sbyte* qs = (sbyte*)(a + ActivationLayout.QsOffset(DotType.Q8K, k));
        var sumi = -VecDotK256.Q6Offsets(w, (short*)(a + 4 * (k / 256)) + 16 * b);
        for (int j = 0; j < 2; j++)
        {
            VecDotK256.Q6Quants(w, j, out var q0, out var q1, out var q2, out var q3);
            if (AvxVnni.IsSupported)
            {
                VecDotK256.Q6VnniLanes.Scales(w, j, out var s0, out var s1, out var s2, out var s3);
                sumi += VecDotK256.Q6VnniLanes.Lanes(q0, q1, q2, q3, s0, s1, s2, s3, qs + 256 * b + 128 * j);
            }
            else
            {
                VecDotK256.Q6Avx2Lanes.Scales(w, j, out var s0, out var s1, out var s2, out var s3);
                sumi += VecDotK256.Q6Avx2Lanes.Lanes(q0, q1, q2, q3, s0, s1, s2, s3, qs + 256 * b + 128 * j);
            }
        }

        return sumi;
    }

    /// <summary>Eight rows against four tokens: y[t·yStride + r].</summary>
    public static void Rows8Tokens4(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
    {
        int nb = k / 256, qo = ActivationLayout.QsOffset(DotType.Q8K, k);
        byte* a1 = a + aStride, a2 = a1 + aStride, a3 = a2 + aStride;
        var scales = stackalloc Vector256<int>[16];
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
        for (int b = 0; b < nb; b++)
        {
            byte* wb = w + b * BlockBytes;
            Scales(wb, wStride, scales);
            Vector256<int> t0 = default, t1 = default, t2 = default, t3 = default;
            for (int h = 0; h < 8; h++)
            {
                Quants(wb, wStride, h, out var g0, out var g1, out var g2, out var g3, out var g4, out var g5, out var g6, out var g7);
                int at = 256 * b + 32 * h;
                Vector256<int>* s = scales + 2 * h;
                t0 += Sums(g0, g1, g2, g3, g4, g5, g6, g7, a, qo, nb, at, s);
                t1 += Sums(g0, g1, g2, g3, g4, g5, g6, g7, a1, qo, nb, at, s);
                t2 += Sums(g0, g1, g2, g3, g4, g5, g6, g7, a2, qo, nb, at, s);
                t3 += Sums(g0, g1, g2, g3, g4, g5, g6, g7, a3, qo, nb, at, s);
            }

            var dw = Block32Vnni.Scales8(wb + DOffset, wStride);
            c0 = Step(c0, t0, dw, a, b);
            c1 = Step(c1, t1, dw, a1, b);
            c2 = Step(c2, t2, dw, a2, b);
            c3 = Step(c3, t3, dw, a3, b);
        }

        c0.Store(y);
        c1.Store(y + yStride);
        c2.Store(y + 2 * yStride);
        c3.Store(y + 3 * yStride);
    }

    /// <summary>
    /// Eight rows against eight tokens: y[t·yStride + r]. Eight integer sums, eight transposed groups
    /// and their temporaries fill the registers, so the float sums wait in y between blocks.
    /// </summary>
    public static void Rows8Tokens8(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
    {
        int nb = k / 256, qo = ActivationLayout.QsOffset(DotType.Q8K, k);
        byte* a1 = a + aStride, a2 = a1 + aStride, a3 = a2 + aStride, a4 = a3 + aStride, a5 = a4 + aStride, a6 = a5 + aStride, a7 = a6 + aStride;
        var scales = stackalloc Vector256<int>[16];
        for (int t = 0; t < 8; t++) Vector256<float>.Zero.Store(y + t * yStride);
        for (int b = 0; b < nb; b++)
        {
            byte* wb = w + b * BlockBytes;
            Scales(wb, wStride, scales);
            Vector256<int> t0 = default, t1 = default, t2 = default, t3 = default, t4 = default, t5 = default, t6 = default, t7 = default;
            for (int h = 0; h < 8; h++)
            {
                Quants(wb, wStride, h, out var g0, out var g1, out var g2, out var g3, out var g4, out var g5, out var g6, out var g7);
                int at = 256 * b + 32 * h;
                Vector256<int>* s = scales + 2 * h;
                t0 += Sums(g0, g1, g2, g3, g4, g5, g6, g7, a, qo, nb, at, s);
                t1 += Sums(g0, g1, g2, g3, g4, g5, g6, g7, a1, qo, nb, at, s);
                t2 += Sums(g0, g1, g2, g3, g4, g5, g6, g7, a2, qo, nb, at, s);
                t3 += Sums(g0, g1, g2, g3, g4, g5, g6, g7, a3, qo, nb, at, s);
                t4 += Sums(g0, g1, g2, g3, g4, g5, g6, g7, a4, qo, nb, at, s);
                t5 += Sums(g0, g1, g2, g3, g4, g5, g6, g7, a5, qo, nb, at, s);
                t6 += Sums(g0, g1, g2, g3, g4, g5, g6, g7, a6, qo, nb, at, s);
                t7 += Sums(g0, g1, g2, g3, g4, g5, g6, g7, a7, qo, nb, at, s);
            }

            var dw = Block32Vnni.Scales8(wb + DOffset, wStride);
            Step(y, t0, dw, a, b);
            Step(y + yStride, t1, dw, a1, b);
            Step(y + 2 * yStride, t2, dw, a2, b);
            Step(y + 3 * yStride, t3, dw, a3, b);
            Step(y + 4 * yStride, t4, dw, a4, b);
            Step(y + 5 * yStride, t5, dw, a5, b);
            Step(y + 6 * yStride, t6, dw, a6, b);
            Step(y + 7 * yStride, t7, dw, a7, b);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step(float* acc, Vector256<int> sums, Vector256<float> dw, byte* a, int b) =>
        Step(Vector256.Load(acc), sums, dw, a, b).Store(acc);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Step(Vector256<float> acc, Vector256<int> sums, Vector256<float> dw, byte* a, int b) =>
        Fma.MultiplyAdd(Avx.ConvertToVector256Single(sums), dw * Vector256.Create(((float*)a)[b]), acc);

    /// <summary>
    /// Vector <paramref name="h"/> (quants 32h..32h+31) of eight rows' blocks as 6-bit quants, transposed
    /// (<see cref="Block32WholeBlockAvx512.Transpose"/>): half j = h/4 of the block, its v = h%4th vector,
    /// whose low four bits are ql's nibble v/2 and high two bits qh's pair v.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Quants(byte* wb, int s, int h,
        out Vector256<byte> g0, out Vector256<byte> g1, out Vector256<byte> g2, out Vector256<byte> g3,
        out Vector256<byte> g4, out Vector256<byte> g5, out Vector256<byte> g6, out Vector256<byte> g7)
    {
        int j = h >> 2, v = h & 3;
        int low = 64 * j + 32 * (v & 1), high = 128 + 32 * j, nibble = 4 * (v >> 1), pair = 2 * v;
        Block32WholeBlockAvx512.Transpose(Sixes(wb, low, high, nibble, pair), Sixes(wb + s, low, high, nibble, pair),
            Sixes(wb + 2 * s, low, high, nibble, pair), Sixes(wb + 3 * s, low, high, nibble, pair),
            Sixes(wb + 4 * s, low, high, nibble, pair), Sixes(wb + 5 * s, low, high, nibble, pair),
            Sixes(wb + 6 * s, low, high, nibble, pair), Sixes(wb + 7 * s, low, high, nibble, pair),
            out g0, out g1, out g2, out g3, out g4, out g5, out g6, out g7);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Sixes(byte* w, int low, int high, int nibble, int pair)
    {
        var ql = Vector256.Load(w + low).AsUInt16() >>> nibble;
        var qh = (Vector256.Load(w + high).AsUInt16() >>> pair) << 4;
        return (ql.AsByte() & Vector256.Create((byte)0x0F)) | (qh.AsByte() & Vector256.Create((byte)0x30));
    }

    /// <summary>
    /// The eight rows' 16 sub-block scales of one block as int32 lanes, scales[s] lane r = row r's
    /// scale s: each row's sixteen bytes transposed as groups of four, then each byte sign-extended.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scales(byte* wb, int s, Vector256<int>* scales)
    {
        byte* p = wb + ScalesOffset;
        var p0 = Vector256.Create(Vector128.Load(p), Vector128.Load(p + 4 * s)).AsInt32();
        var p1 = Vector256.Create(Vector128.Load(p + s), Vector128.Load(p + 5 * s)).AsInt32();
        var p2 = Vector256.Create(Vector128.Load(p + 2 * s), Vector128.Load(p + 6 * s)).AsInt32();
        var p3 = Vector256.Create(Vector128.Load(p + 3 * s), Vector128.Load(p + 7 * s)).AsInt32();
        var t0 = Avx2.UnpackLow(p0, p1).AsInt64();
        var t1 = Avx2.UnpackHigh(p0, p1).AsInt64();
        var t2 = Avx2.UnpackLow(p2, p3).AsInt64();
        var t3 = Avx2.UnpackHigh(p2, p3).AsInt64();
        // u{m}: lane r holds row r's scales 4m..4m+3
        Widen(Avx2.UnpackLow(t0, t2).AsInt32(), scales);
        Widen(Avx2.UnpackHigh(t0, t2).AsInt32(), scales + 4);
        Widen(Avx2.UnpackLow(t1, t3).AsInt32(), scales + 8);
        Widen(Avx2.UnpackHigh(t1, t3).AsInt32(), scales + 12);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Widen(Vector256<int> u, Vector256<int>* to)
    {
        to[0] = (u << 24) >> 24;
        to[1] = (u << 16) >> 24;
        to[2] = (u << 8) >> 24;
        to[3] = u >> 24;
    }

    /// <summary>
    /// The eight rows' Σ scale·Σ (q − 32)·x over vector h's two sub-blocks for one token: each
    /// sub-block's chain starts from −32 · its activation sum, then takes the rows' scales
    /// <paramref name="s"/>[0] and [1].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Sums(Vector256<byte> g0, Vector256<byte> g1, Vector256<byte> g2, Vector256<byte> g3,
        Vector256<byte> g4, Vector256<byte> g5, Vector256<byte> g6, Vector256<byte> g7, byte* a, int qo, int nb, int at, Vector256<int>* s)
    {
        short* bsums = (short*)(a + 4 * nb) + at / 16;
        Block32WholeBlockAvx512.HalfSums(g0, g1, g2, g3, g4, g5, g6, g7, (int*)(a + qo + at),
            Vector256.Create(-32 * bsums[0]), Vector256.Create(-32 * bsums[1]), out var first, out var second);
        return first * s[0] + second * s[1];
    }
}
