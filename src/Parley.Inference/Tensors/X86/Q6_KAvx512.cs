using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Parley.Inference.Tensors.X86;

/// <summary>
/// Q6_K's single-token tile on AVX-512 BW without VNNI: one vector holds two rows' super-blocks, row r
/// in the lower 256 bits and r+1 in the upper, against the token's values in both; each half's eight
/// exact int32 lanes (ggml's) are summed to its row's super-block integer, added with one FMA by
/// d·d_x: <see cref="Scalar.VecDotScalar.Q6_K"/>'s bits, two rows per instruction. The multi-token tiles
/// put eight rows side by side instead (<see cref="Q6_KRows8Avx512"/>).
/// </summary>
internal static unsafe class Q6_KAvx512
{
    private const int Bytes = Q6_KLayout.Bytes, ScalesOffset = Q6_KLayout.ScalesOffset, DOffset = Q6_KLayout.DOffset;

    public static bool Supported => Avx512BW.IsSupported && Avx2.IsSupported && Fma.IsSupported;

    /// <summary>32 bytes at <paramref name="p"/> of row r and of row r+1, in the two halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> Pair(byte* p, int stride) =>
        Avx512F.InsertVector256(Vector256.Load(p).ToVector512Unsafe(), Vector256.Load(p + stride), 1);

    /// <summary>32 bytes in both halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<sbyte> Both(sbyte* p)
    {
        var v = Vector256.Load((ulong*)p).ToVector512Unsafe();
        return Avx512F.Shuffle4x128(v, v, 0b01_00_01_00).AsSByte();
    }

    /// <summary>The two rows' sixteen scales as words: row r's in words 0..15, row r+1's in 16..31.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> ScaleWords(byte* w, int stride) =>
        Avx512BW.ConvertToVector512Int16(Vector256.Create(Vector128.Load((sbyte*)(w + ScalesOffset)), Vector128.Load((sbyte*)(w + stride + ScalesOffset))));

    /// <summary>Quant vector v of half j's scales, per row: scale 8j+2v on its first eight words, 8j+2v+1 on the next eight.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> Scales(Vector512<short> words, int j, int v) => Avx512BW.PermuteVar32x16(words,
        Vector512.Create((short)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 16, 16, 16, 16, 16, 16, 16, 16, 17, 17, 17, 17, 17, 17, 17, 17)
        + Vector512.Create((short)(8 * j + 2 * v)));

    /// <summary>The four 6-bit quant vectors (0..63) of half j of both rows' super-blocks, in ggml's order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Quants(byte* w, int stride, int j, out Vector512<byte> q0, out Vector512<byte> q1, out Vector512<byte> q2, out Vector512<byte> q3)
    {
        var m4 = Vector512.Create((byte)0x0F);
        var m30 = Vector512.Create((byte)0x30);
        var bits1 = Pair(w + 64 * j, stride);
        var bits2 = Pair(w + 64 * j + 32, stride);
        var high = Pair(w + 128 + 32 * j, stride).AsUInt16();
        q0 = (bits1 & m4) | ((high << 4).AsByte() & m30);
        q1 = (bits2 & m4) | ((high << 2).AsByte() & m30);
        q2 = ((bits1.AsUInt16() >>> 4).AsByte() & m4) | (high.AsByte() & m30);
        q3 = ((bits2.AsUInt16() >>> 4).AsByte() & m4) | ((high >>> 2).AsByte() & m30);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Scaled(Vector512<byte> q, Vector512<short> s, sbyte* x) =>
        Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(q, Both(x)), s);

    /// <summary>The −32 offset's share of each lane (<see cref="VecDotK256.Q6Offsets"/>), both rows against one token's sixteen-value sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Offsets(Vector512<short> words, short* bsums)
    {
        var v = Vector256.Load((ulong*)bsums).ToVector512Unsafe();
        return Avx512BW.MultiplyAddAdjacent(words, Avx512F.Shuffle4x128(v, v, 0b01_00_01_00).AsInt16()) << 5;
    }

    /// <summary>Rows r, r+1 against one token: the super-block's lanes of both.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> PairLanes(byte* w, int stride, sbyte* x, short* bsums)
    {
        var words = ScaleWords(w, stride);
        var sumi = -Offsets(words, bsums);
        for (int j = 0; j < 2; j++)
        {
            Quants(w, stride, j, out var q0, out var q1, out var q2, out var q3);
            sbyte* xj = x + 128 * j;
            sumi += Scaled(q0, Scales(words, j, 0), xj) + Scaled(q1, Scales(words, j, 1), xj + 32)
                + Scaled(q2, Scales(words, j, 2), xj + 64) + Scaled(q3, Scales(words, j, 3), xj + 96);
        }

        return sumi;
    }

    /// <summary>Four rows against one token: each row's lanes summed to the super-block's integer, one FMA by d·d_x.</summary>
    public static void Rows4Tokens1(byte* w, int wStride, byte* a, int aStride, int k, float* y, int yStride)
    {
        int nb = k / 256;
        float* d = (float*)a;
        short* bsums = (short*)(a + 4 * nb);
        sbyte* qs = (sbyte*)(a + ActivationLayout.QsOffset(DotType.Q8K, k));
        var c = Vector128<float>.Zero;
        byte* start = w;
        int span = RowPrefetch.Span(wStride, nb);
        for (int b = 0; b < nb; b++, w += Bytes)
        {
            RowPrefetch.Next4(start, wStride, b, span);
            sbyte* x = qs + 256 * b;
            var l01 = PairLanes(w, wStride, x, bsums + 16 * b);
            var l23 = PairLanes(w + 2 * wStride, wStride, x, bsums + 16 * b);
            var sums = VecDot256.RowSums(l01.GetLower(), l01.GetUpper(), l23.GetLower(), l23.GetUpper());
            var dw = Block32Vnni.Scales(w + DOffset, w + wStride + DOffset, w + 2 * wStride + DOffset, w + 3 * wStride + DOffset).GetLower();
            c = Fma.MultiplyAdd(Sse2.ConvertToVector128Single(sums), dw * Vector128.Create(d[b]), c);
        }

        c.Store(y);
    }
}
