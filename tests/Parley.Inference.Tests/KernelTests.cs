using System.Runtime.InteropServices;
using Parley.Inference.Tensors;
using Parley.Inference.Tensors.Scalar;
using Parley.Inference.Tensors.X86;

namespace Parley.Inference.Tests;

/// <summary>
/// Every weight type at every kernel level against the scalar reference and against
/// dequantize-then-F32, on random blocks (random bytes are valid quants; scales are set to finite halves).
/// </summary>
public unsafe class KernelTests
{
    public static TheoryData<GgmlType> Types =>
    [
        GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0,
        GgmlType.Q5_1, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
    ];

    private const int K = 512;

    private static byte[] RandomRow(GgmlType type, Random r)
    {
        var row = new byte[GgmlTypeInfo.RowBytes(type, K)];
        r.NextBytes(row);
        int bb = GgmlTypeInfo.BlockBytes(type);
        ushort Half() => Fp16.FromFloat((float)(r.NextDouble() * 0.02 + 0.001));
        void SetHalf(int at) => BitConverter.TryWriteBytes(row.AsSpan(at, 2), Half());
        switch (type)
        {
            case GgmlType.F32:
                for (int i = 0; i < K; i++) BitConverter.TryWriteBytes(row.AsSpan(4 * i, 4), (float)(r.NextDouble() * 2 - 1));
                break;
            case GgmlType.F16:
                for (int i = 0; i < K; i++) BitConverter.TryWriteBytes(row.AsSpan(2 * i, 2), Fp16.FromFloat((float)(r.NextDouble() * 2 - 1)));
                break;
            case GgmlType.BF16:
                for (int i = 0; i < K; i++) BitConverter.TryWriteBytes(row.AsSpan(2 * i, 2), Fp16.FloatToBF16((float)(r.NextDouble() * 2 - 1)));
                break;
            default:
                for (int b = 0; b < row.Length / bb; b++)
                {
                    int o = b * bb;
                    switch (type)
                    {
                        case GgmlType.Q4_0 or GgmlType.Q5_0 or GgmlType.Q8_0: SetHalf(o); break;
                        case GgmlType.Q4_1 or GgmlType.Q5_1 or GgmlType.Q4_K or GgmlType.Q5_K: SetHalf(o); SetHalf(o + 2); break;
                        case GgmlType.Q6_K: SetHalf(o + 208); break;
                    }
                }

                break;
        }

        return row;
    }

    private static float[] RandomActivations(Random r)
    {
        var x = new float[K];
        for (int i = 0; i < K; i++) x[i] = (float)(r.NextDouble() * 4 - 2);
        return x;
    }

    /// <summary>The activation row as the kernels see it, back in floats.</summary>
    private static float[] DequantizeActivations(DotType t, byte* row)
    {
        var x = new float[K];
        switch (t)
        {
            case DotType.F32: new Span<float>(row, K).CopyTo(x); break;
            case DotType.F16: for (int i = 0; i < K; i++) x[i] = Fp16.ToFloat(((ushort*)row)[i]); break;
            case DotType.BF16: for (int i = 0; i < K; i++) x[i] = Fp16.BF16ToFloat(((ushort*)row)[i]); break;
            case DotType.Q8:
                {
                    sbyte* qs = (sbyte*)(row + ActivationLayout.QsOffset(t, K));
                    for (int i = 0; i < K; i++) x[i] = qs[i] * ((float*)row)[i / 32];
                    break;
                }

            case DotType.Q8K:
                {
                    sbyte* qs = (sbyte*)(row + ActivationLayout.QsOffset(t, K));
                    for (int i = 0; i < K; i++) x[i] = qs[i] * ((float*)row)[i / 256];
                    break;
                }
        }

        return x;
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void EveryLevelAgreesWithScalarAndWithDequantized(GgmlType type)
    {
        var r = new Random((int)type * 7919);
        var dt = ActivationLayout.For(type);
        byte* act = (byte*)NativeMemory.AlignedAlloc((nuint)ActivationLayout.RowStride(dt, K), 64);
        try
        {
            for (int trial = 0; trial < 20; trial++)
            {
                var w = RandomRow(type, r);
                var x = RandomActivations(r);
                ActivationQuantizer.QuantizeRow(dt, x, act);
                var wf = new float[K];
                var xq = DequantizeActivations(dt, act);
                double exact = 0, magnitude = 0;
                fixed (byte* wp = w)
                {
                    Dequantize.Row(type, wp, wf);
                    for (int i = 0; i < K; i++)
                    {
                        exact += (double)wf[i] * xq[i];
                        magnitude += Math.Abs((double)wf[i] * xq[i]);
                    }

                    float scalar = VecDotScalar.Dot(type, wp, act, K);
                    double tol = 1e-5 * magnitude + 1e-6;
                    Assert.True(Math.Abs(scalar - exact) <= tol, $"{type} scalar {scalar} vs dequantized {exact}");
                    foreach (var level in KernelLevels.Available())
                    {
                        float v = VecDot.Get(type, level)(wp, act, K);
                        Assert.True(Math.Abs(v - scalar) <= tol, $"{type} {level} {v} vs scalar {scalar}");
                    }
                }
            }
        }
        finally
        {
            NativeMemory.AlignedFree(act);
        }
    }

    /// <summary>
    /// Q6_K's kernels (row dot, 4×1 and 4×4 with ggml's lanes summed to each super-block's integer,
    /// AVX-512's two-rows-per-vector 4×1, and its 8×4 and 8×8 with rows side by side) give the bits of the whole-block reference
    /// for every (row, token): the integers are exact, each super-block takes one FMA. Zero
    /// super-blocks and two blocks per row count too.
    /// </summary>
    [Fact]
    public void Q6KKernelsGiveTheScalarReferencesBits()
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported) return;
        var r = new Random(61);
        int stride = ActivationLayout.RowStride(DotType.Q8K, K);
        byte* act = (byte*)NativeMemory.AlignedAlloc((nuint)(8 * stride), 64);
        float* tile = stackalloc float[64], column = stackalloc float[4];
        try
        {
            for (int trial = 0; trial < 30; trial++)
            {
                var w = Enumerable.Range(0, 8).SelectMany(_ => RandomRow(GgmlType.Q6_K, r)).ToArray();
                int rowBytes = w.Length / 8;
                for (int t = 0; t < 8; t++)
                {
                    var x = RandomActivations(r);
                    if ((trial + t) % 10 == 0) Array.Clear(x, 0, 256); // an all-zero super-block
                    ActivationQuantizer.QuantizeRow(DotType.Q8K, x, act + t * stride);
                }

                fixed (byte* wp = w)
                {
                    byte* w0 = wp;
                    float Reference(int row, int t) => VecDotScalar.Q6_K(w0 + row * rowBytes, act + t * stride, K);
                    Assert.Equal(Reference(0, 0), VecDotScalar.Dot(GgmlType.Q6_K, wp, act, K));
                    for (int t = 0; t < 4; t++)
                    {
                        Q6_KWholeBlock.Rows4Tokens1(wp, rowBytes, act + t * stride, 0, K, column, 0);
                        for (int row = 0; row < 4; row++)
                        {
                            Assert.Equal(Reference(row, t), column[row]);
                            Assert.Equal(Reference(row, t), Q6_KWholeBlock.VectorDot(wp + row * rowBytes, act + t * stride, K));
                        }
                    }

                    Q6_KWholeBlock.Rows4Tokens4(wp, rowBytes, act, stride, K, tile, 4);
                    for (int t = 0; t < 4; t++)
                    {
                        for (int row = 0; row < 4; row++) Assert.Equal(Reference(row, t), tile[t * 4 + row]);
                    }

                    if (!Tensors.X86.Q6_KRows8Avx512.Supported) continue;
                    for (int t = 0; t < 4; t++)
                    {
                        Tensors.X86.Q6_KAvx512.Rows4Tokens1(wp, rowBytes, act + t * stride, 0, K, column, 0);
                        for (int row = 0; row < 4; row++) Assert.Equal(Reference(row, t), column[row]);
                    }


                    foreach (int tokens in new[] { 8, 4 })
                    {
                        if (tokens == 8) Tensors.X86.Q6_KRows8Avx512.Rows8Tokens8(wp, rowBytes, act, stride, K, tile, 8);
                        else Tensors.X86.Q6_KRows8Avx512.Rows8Tokens4(wp, rowBytes, act, stride, K, tile, 8);
                        for (int t = 0; t < tokens; t++)
                        {
                            for (int row = 0; row < 8; row++) Assert.Equal(Reference(row, t), tile[t * 8 + row]);
                        }
                    }
                }
            }
        }
        finally
        {
            NativeMemory.AlignedFree(act);
        }
    }

    /// <summary>
    /// Q5_K products in a layer are llama.cpp's to the bit, so every kernel (row dots at every level,
    /// the 4×4 and 4×1 tiles) must give the scalar reference's bits, over two super-blocks so that
    /// their accumulation counts too (Q5_K's mins take an FMA, as GCC compiles ggml's).
    /// </summary>
    [Theory]
    [InlineData(GgmlType.Q5_K)]
    public void KQuantKernelsGiveTheScalarReferencesBits(GgmlType type)
    {
        if (KernelLevels.Best < KernelLevel.Vector256) return;
        var r = new Random(73 + (int)type);
        int stride = ActivationLayout.RowStride(DotType.Q8K, K);
        byte* act = (byte*)NativeMemory.AlignedAlloc((nuint)(4 * stride), 64);
        float* tile = stackalloc float[16], column = stackalloc float[4];
        try
        {
            for (int trial = 0; trial < 40; trial++)
            {
                var w = Enumerable.Range(0, 4).SelectMany(_ => RandomRow(type, r)).ToArray();
                int rowBytes = w.Length / 4;
                for (int t = 0; t < 4; t++) ActivationQuantizer.QuantizeRow(DotType.Q8K, RandomActivations(r), act + t * stride);
                fixed (byte* wp = w)
                {
                    Q5_KAvx2.Get4x4(type)(wp, rowBytes, act, stride, K, tile, 4);
                    for (int t = 0; t < 4; t++)
                    {
                        Q5_KAvx2.Get4x1(type)(wp, rowBytes, act + t * stride, 0, K, column, 0);
                        for (int row = 0; row < 4; row++)
                        {
                            int reference = BitConverter.SingleToInt32Bits(VecDotScalar.Dot(type, wp + row * rowBytes, act + t * stride, K));
                            Assert.Equal(reference, BitConverter.SingleToInt32Bits(tile[t * 4 + row]));
                            Assert.Equal(reference, BitConverter.SingleToInt32Bits(column[row]));
                            foreach (var level in KernelLevels.Available().Where(l => l >= KernelLevel.Vector256))
                            {
                                Assert.Equal(reference, BitConverter.SingleToInt32Bits(VecDot.Get(type, level)(wp + row * rowBytes, act + t * stride, K)));
                            }
                        }
                    }
                }
            }
        }
        finally
        {
            NativeMemory.AlignedFree(act);
        }
    }

    /// <summary>
    /// The Q4_K kernels of each vector level (row dot, 4×1, 4×4 with rows side by side (AVX2), and AVX-512's 8×4 and 8×8) give the scalar reference's bits for
    /// every (row, token), over two super-blocks: each adds a super-block's whole integer sums with one
    /// FMA, so neither the kernel's shape nor its vector width shows in the result, and a token's
    /// numbers do not depend on the batch around it. The gemm-order tiles give their own reference's.
    /// </summary>
    [Fact]
    public void Q4KKernelsGiveTheScalarReferencesBits()
    {
        var kernels = new List<(nint Dot, nint Rows4)>();
        if (Tensors.X86.Q4_KAvx2.Supported)
        {
            kernels.Add(((nint)(delegate*<byte*, byte*, int, float>)&Tensors.X86.Q4_KHeader.Dot<Tensors.X86.Q4_KAvx2>, (nint)(delegate*<byte*, int, byte*, int, int, float*, int, void>)&Tensors.X86.Q4_KHeader.Rows4Tokens1<Tensors.X86.Q4_KAvx2>));
        }

        if (Tensors.X86.Q4_KAvx512.Supported)
        {
            kernels.Add(((nint)(delegate*<byte*, byte*, int, float>)&Tensors.X86.Q4_KHeader.Dot<Tensors.X86.Q4_KAvx512>, (nint)(delegate*<byte*, int, byte*, int, int, float*, int, void>)&Tensors.X86.Q4_KHeader.Rows4Tokens1<Tensors.X86.Q4_KAvx512>));
        }

        var r = new Random(91);
        int stride = ActivationLayout.RowStride(DotType.Q8K, K);
        byte* act = (byte*)NativeMemory.AlignedAlloc((nuint)(8 * stride), 64);
        float* column = stackalloc float[4], wide = stackalloc float[64], wideGemm = stackalloc float[64];
        try
        {
            for (int trial = 0; trial < 40; trial++)
            {
                var w = Enumerable.Range(0, 8).SelectMany(_ => RandomRow(GgmlType.Q4_K, r)).ToArray();
                int rowBytes = w.Length / 8;
                for (int t = 0; t < 8; t++) ActivationQuantizer.QuantizeRow(DotType.Q8K, RandomActivations(r), act + t * stride);
                fixed (byte* wp = w)
                {
                    if (Tensors.X86.Q4_KRows4Avx2.Supported)
                    {
                        Tensors.X86.Q4_KRows4Avx2.Rows4Tokens4<Tensors.X86.GemvOrder>(wp, rowBytes, act, stride, K, wide, 4);
                        Tensors.X86.Q4_KRows4Avx2.Rows4Tokens4<Tensors.X86.GemmOrder>(wp, rowBytes, act, stride, K, wideGemm, 4);
                        for (int t = 0; t < 4; t++)
                        {
                            for (int row = 0; row < 4; row++)
                            {
                                byte* wr = wp + row * rowBytes, at = act + t * stride;
                                Assert.Equal(VecDotScalar.Dot(GgmlType.Q4_K, wr, at, K), wide[t * 4 + row]);
                                Assert.Equal(VecDotScalar.Q4_KGemm(wr, at, K), wideGemm[t * 4 + row]);
                            }
                        }
                    }

                    if (Tensors.X86.Q4_KRows8Avx512.Supported)
                    {
                        // The 8×8 tile over all eight tokens, then the 8×4 over the first four.
                        foreach (int tokens in new[] { 8, 4 })
                        {
                            if (tokens == 8)
                            {
                                Tensors.X86.Q4_KRows8Avx512.Rows8Tokens8<Tensors.X86.GemvOrder>(wp, rowBytes, act, stride, K, wide, 8);
                                Tensors.X86.Q4_KRows8Avx512.Rows8Tokens8<Tensors.X86.GemmOrder>(wp, rowBytes, act, stride, K, wideGemm, 8);
                            }
                            else
                            {
                                Tensors.X86.Q4_KRows8Avx512.Rows8Tokens4<Tensors.X86.GemvOrder>(wp, rowBytes, act, stride, K, wide, 8);
                                Tensors.X86.Q4_KRows8Avx512.Rows8Tokens4<Tensors.X86.GemmOrder>(wp, rowBytes, act, stride, K, wideGemm, 8);
                            }

                            for (int t = 0; t < tokens; t++)
                            {
                                for (int row = 0; row < 8; row++)
                                {
                                    byte* wr = wp + row * rowBytes, at = act + t * stride;
                                    Assert.Equal(VecDotScalar.Dot(GgmlType.Q4_K, wr, at, K), wide[t * 8 + row]);
                                    Assert.Equal(VecDotScalar.Q4_KGemm(wr, at, K), wideGemm[t * 8 + row]);
                                }
                            }
                        }
                    }

                    foreach (var (dotPtr, rows4) in kernels)
                    {
                        var dot = (delegate*<byte*, byte*, int, float>)dotPtr;
                        for (int t = 0; t < 4; t++)
                        {
                            ((delegate*<byte*, int, byte*, int, int, float*, int, void>)rows4)(wp, rowBytes, act + t * stride, 0, K, column, 0);
                            for (int row = 0; row < 4; row++)
                            {
                                byte* wr = wp + row * rowBytes, at = act + t * stride;
                                float reference = VecDotScalar.Dot(GgmlType.Q4_K, wr, at, K);
                                Assert.Equal(reference, dot(wr, at, K));
                                Assert.Equal(reference, column[row]);
                            }
                        }
                    }
                }
            }
        }
        finally
        {
            NativeMemory.AlignedFree(act);
        }
    }

    /// <summary>The vectorized Q8 quantizer must write the scalar one's bytes: scales, sums, quants and quad sums.</summary>
    [Fact]
    public void VectorQ8QuantizationEqualsTheScalarOne()
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported) return;
        const int n = 32 * 40;
        var r = new Random(9);
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)((r.NextDouble() - 0.5) * Math.Pow(10, r.Next(-3, 3)));
        for (int i = 0; i < 32; i++) x[i] = 0; // an all-zero block
        for (int i = 32; i < 64; i++) x[i] = (i - 48) * 0.5f; // values that land on .5 after scaling
        int stride = ActivationLayout.RowStride(DotType.Q8, n);
        byte* a = (byte*)NativeMemory.AlignedAlloc((nuint)stride, 64), b = (byte*)NativeMemory.AlignedAlloc((nuint)stride, 64);
        try
        {
            new Span<byte>(a, stride).Fill(0xAA);
            new Span<byte>(b, stride).Fill(0xAA);
            ActivationQuantizer.Q8(x, a, vector: false);
            ActivationQuantizer.Q8(x, b, vector: true);
            Assert.True(new Span<byte>(a, stride).SequenceEqual(new Span<byte>(b, stride)));
        }
        finally
        {
            NativeMemory.AlignedFree(a);
            NativeMemory.AlignedFree(b);
        }
    }

    [Fact]
    public void ActivationQuantizationFollowsGgml()
    {
        var x = new float[256];
        for (int i = 0; i < 256; i++) x[i] = (i - 100) * 0.01f;
        byte* row = (byte*)NativeMemory.AlignedAlloc((nuint)ActivationLayout.RowStride(DotType.Q8K, 256), 64);
        try
        {
            ActivationQuantizer.QuantizeRow(DotType.Q8K, x, row);
            sbyte* qs = (sbyte*)(row + ActivationLayout.QsOffset(DotType.Q8K, 256));
            Assert.Equal(-127, qs[255]); // the signed extreme maps to -127
            Assert.Equal(1.55f / -127f, ((float*)row)[0], 6);
            ActivationQuantizer.QuantizeRow(DotType.Q8, x.AsSpan(0, 32), row);
            qs = (sbyte*)(row + ActivationLayout.QsOffset(DotType.Q8, 32));
            Assert.Equal(-127, qs[0]);
            Assert.Equal(Fp16.Round(1.0f / 127f), ((float*)row)[0]);
        }
        finally
        {
            NativeMemory.AlignedFree(row);
        }
    }

    /// <summary>
    /// The matrix product (4×4 and 4×1 tiles where a kernel exists, row dots for the rest) must give
    /// exactly the bits of that level's dot product for every (row, token), and stay near the scalar one.
    /// 37 rows: no matrix here is one llama.cpp would repack. Float types follow tinyBLAS's order
    /// (<see cref="PlainDot"/>) through every tile: four rows × eight tokens, four × two, one × two.
    /// </summary>
    [Theory]
    [MemberData(nameof(Types))]
    public void MatMulMatchesRowByRowDots(GgmlType type) =>
        AssertMatMulGives(type, rows: 37, seed: 5 + (int)type, level => PlainDot(type, level));

    /// <summary>
    /// The row dot a type's tokens take when not alone in their sequence: for float types tinyBLAS's
    /// eight chains (<see cref="VecDotScalar.FloatChains"/>) at every level, for the others the level's row dot.
    /// </summary>
    private static nint PlainDot(GgmlType type, KernelLevel level) => type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16
        ? (nint)VecDotScalar.ChainsDot(type)
        : (nint)VecDot.Get(type, level);

    /// <summary>A float type's single-token dot, ggml_vec_dot's order.</summary>
    private static nint SingleDot(GgmlType type) => type switch
    {
        GgmlType.F32 => (nint)(delegate*<byte*, byte*, int, float>)&SingleTokenDot.F32,
        GgmlType.F16 => (nint)(delegate*<byte*, byte*, int, float>)&SingleTokenDot.F16,
        _ => (nint)(delegate*<byte*, byte*, int, float>)&SingleTokenDot.BF16,
    };

    /// <summary>
    /// Q4_0 matrices with a multiple of eight rows follow llama.cpp's repacked order at every level:
    /// exactly the bits of the scalar reference of that order, for every (row, token). One to nine
    /// tokens reach every tile: 8×8, 8×4 and 8×1 (AVX-512), 4×4 and 4×1.
    /// </summary>
    [Fact]
    public void InterleavedMatMulFollowsTheRepackedOrder() =>
        AssertMatMulGives(GgmlType.Q4_0, rows: 40, seed: 11, _ => (nint)WholeBlockOrder.RowDot(GgmlType.Q4_0, KernelLevel.Scalar));

    /// <summary>
    /// A repacked Q4_K matrix multiplies the tokens marked InGemmGroup (those llama.cpp's gemm takes, four
    /// of a sequence at a time) in the gemm order and the others in the gemv order, at every level:
    /// the bits of <see cref="VecDotScalar.Q4_KGemm"/> and of the scalar Q4_K dot. Two sequences of 5
    /// and 13 tokens reach the 4×4 gemm tile and the gemv ones beside it, and the two orders must
    /// differ somewhere, or the marks would go unchecked.
    /// </summary>
    [Fact]
    public void Q4KTokensLlamaCppsGemmTakesFollowItsOrder()
    {
        var paths = new TokenPath[18];
        for (int t = 0; t < 4; t++) paths[t] = TokenPath.InGemmGroup;        // sequence of 5: four grouped, one not
        for (int t = 5; t < 5 + 12; t++) paths[t] = TokenPath.InGemmGroup;   // sequence of 13: twelve grouped, one not
        AssertPathsGive(GgmlType.Q4_K, rows: 40, paths, logits: false, seed: 29, (nint)(delegate*<byte*, byte*, int, float>)&VecDotScalar.Q4_KGemm, _ => (nint)VecDot.Get(GgmlType.Q4_K, KernelLevel.Scalar));
    }

    /// <summary>
    /// F32 and F16 single-token dots follow ggml_vec_dot_f32/f16 (AVX-512) to the bit: four
    /// sixteen-lane FMA chains over steps of 64, (0 + 2) + (1 + 3), _mm512_reduce_add_ps's order, then
    /// the values past the last step (an FMA each into the float sum for F32, double for F16). Written
    /// out here element by element, apart from the kernel's vectors; 212 values leave 20 over.
    /// </summary>
    [Theory]
    [InlineData(GgmlType.F32)]
    [InlineData(GgmlType.F16)]
    public void SingleTokenDotsFollowGgmlVecDot(GgmlType type)
    {
        const int n = 212;
        var r = new Random(31 + (int)type);
        bool half = type == GgmlType.F16;
        var w = new byte[n * 4];
        var a = new byte[n * 4];
        for (int trial = 0; trial < 50; trial++)
        {
            fixed (byte* wp = w, ap = a)
            {
                for (int i = 0; i < n; i++)
                {
                    float wv = (float)(r.NextDouble() * 2 - 1), av = (float)(r.NextDouble() * 2 - 1);
                    if (half)
                    {
                        ((ushort*)wp)[i] = Fp16.FromFloat(wv);
                        ((ushort*)ap)[i] = Fp16.FromFloat(av);
                    }
                    else
                    {
                        ((float*)wp)[i] = wv;
                        ((float*)ap)[i] = av;
                    }
                }

                float X(byte* p, int i) => half ? Fp16.ToFloat(((ushort*)p)[i]) : ((float*)p)[i];
                var chains = new float[4, 16];
                int np = n & ~63;
                for (int i = 0; i < np; i++) chains[i % 64 / 16, i % 16] = MathF.FusedMultiplyAdd(X(wp, i), X(ap, i), chains[i % 64 / 16, i % 16]);
                var x0 = new float[16];
                for (int l = 0; l < 16; l++) x0[l] = (chains[0, l] + chains[2, l]) + (chains[1, l] + chains[3, l]);
                var t3 = new float[8];
                for (int l = 0; l < 8; l++) t3[l] = x0[l + 8] + x0[l];
                var t6 = new float[4];
                for (int l = 0; l < 4; l++) t6[l] = t3[l + 4] + t3[l];
                float reduced = (t6[0] + t6[2]) + (t6[1] + t6[3]);
                float expected;
                if (half)
                {
                    double sum = reduced;
                    for (int i = np; i < n; i++) sum += X(wp, i) * X(ap, i);
                    expected = (float)sum;
                }
                else
                {
                    expected = reduced;
                    for (int i = np; i < n; i++) expected = MathF.FusedMultiplyAdd(X(wp, i), X(ap, i), expected);
                }

                float got = half ? SingleTokenDot.F16(wp, ap, n) : SingleTokenDot.F32(wp, ap, n);
                Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(got));
            }
        }
    }

    /// <summary>
    /// BF16's single-token dot follows ggml_vec_dot_bf16 (AVX2) to the bit: four eight-lane FMA chains
    /// over steps of 32, (0 + 2) + (1 + 3), hsum_float_8, then the values past the last step in
    /// double. Written out element by element; 212 values leave 20 over. The four-row tile gives the same.
    /// </summary>
    [Fact]
    public void BF16SingleTokenDotFollowsGgmlVecDot()
    {
        const int n = 212;
        var r = new Random(43);
        var w = new ushort[4 * n];
        var a = new ushort[n];
        var tile = new float[4];
        for (int trial = 0; trial < 50; trial++)
        {
            for (int i = 0; i < w.Length; i++) w[i] = Fp16.FloatToBF16((float)(r.NextDouble() * 2 - 1));
            for (int i = 0; i < n; i++) a[i] = Fp16.FloatToBF16((float)(r.NextDouble() * 2 - 1));
            fixed (ushort* wp = w, ap = a)
            fixed (float* tp = tile)
            {
                SingleTokenDot.Rows4BF16((byte*)wp, 2 * n, (byte*)ap, 0, n, tp, 0);
                for (int row = 0; row < 4; row++)
                {
                    ushort* wr = wp + row * n;
                    var chains = new float[4, 8];
                    int np = n & ~31;
                    for (int i = 0; i < np; i++) chains[i % 32 / 8, i % 8] = MathF.FusedMultiplyAdd(Fp16.BF16ToFloat(wr[i]), Fp16.BF16ToFloat(ap[i]), chains[i % 32 / 8, i % 8]);
                    var c = new float[8];
                    for (int l = 0; l < 8; l++) c[l] = (chains[0, l] + chains[2, l]) + (chains[1, l] + chains[3, l]);
                    var g = new float[4];
                    for (int l = 0; l < 4; l++) g[l] = c[l + 4] + c[l];
                    double sum = (g[0] + g[2]) + (g[1] + g[3]);
                    for (int i = np; i < n; i++) sum += Fp16.BF16ToFloat(wr[i]) * Fp16.BF16ToFloat(ap[i]);
                    int expected = BitConverter.SingleToInt32Bits((float)sum);
                    Assert.Equal(expected, BitConverter.SingleToInt32Bits(SingleTokenDot.BF16((byte*)wr, (byte*)ap, n)));
                    Assert.Equal(expected, BitConverter.SingleToInt32Bits(tile[row]));
                }
            }
        }
    }

    /// <summary>
    /// Float products take ggml_vec_dot's order for a token alone in its sequence (a decode step,
    /// which llama.cpp multiplies as a product of one row) and for the logits (each its sequence's
    /// only output row), tinyBLAS's for the others, at every level. The decode steps at 0 and 4 split
    /// the prompt's tokens across pairs of the widened activations, whose other token must stay unwritten.
    /// </summary>
    [Theory]
    [InlineData(GgmlType.F32)]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.BF16)]
    public void TokensAloneTakeGgmlVecDot(GgmlType type)
    {
        var paths = new TokenPath[7];
        paths[0] = paths[4] = TokenPath.Alone; // two decode steps among a prompt chunk's tokens
        AssertPathsGive(type, rows: 21, paths, logits: false, seed: 37, SingleDot(type), level => PlainDot(type, level));
        AssertPathsGive(type, rows: 21, Enumerable.Repeat(TokenPath.Alone, 7).ToArray(), logits: true, seed: 41, SingleDot(type), level => PlainDot(type, level));
    }

    /// <summary>
    /// One product of random rows against one random token per path at every level: every (row,
    /// token) must give the bits of <paramref name="marked"/> where its path is marked (any flag) and
    /// of the plain row dot elsewhere, and the two must differ somewhere, or the marks would go
    /// unchecked. Logits run without paths: their rows are all single-token.
    /// </summary>
    private static void AssertPathsGive(GgmlType type, int rows, TokenPath[] paths, bool logits, int seed, nint marked, Func<KernelLevel, nint> plainFor)
    {
        using var pool = new WorkerPool(2);
        var r = new Random(seed);
        int batch = paths.Length;
        var w = Enumerable.Range(0, rows).SelectMany(_ => RandomRow(type, r)).ToArray();
        var x = new float[batch * K];
        for (int i = 0; i < x.Length; i++) x[i] = (float)r.NextDouble() - 0.5f;
        using var act = new ActivationBuffer();
        var y = new float[batch * rows];
        int differ = 0;
        var markedDot = (delegate*<byte*, byte*, int, float>)marked;
        fixed (byte* wp = w)
        fixed (TokenPath* pp = paths)
        fixed (float* yp = y, xp = x)
        {
            var m = new WeightMatrix(wp, type, rows, K);
            act.Load(ActivationLayout.For(type), xp, batch, K, new ParallelRows(pool));
            foreach (var level in KernelLevels.Available())
            {
                var plainDot = (delegate*<byte*, byte*, int, float>)plainFor(level);
                Array.Clear(y);
                using (var matmul = new MatMul(pool, level)) matmul.Run([new Product(m, yp, rows, logits)], act, logits ? null : pp);
                for (int b = 0; b < batch; b++)
                {
                    for (int i = 0; i < rows; i++)
                    {
                        float onPath = markedDot(m.Row(i), act.Row(b), K), plain = plainDot(m.Row(i), act.Row(b), K);
                        float expected = paths[b] != 0 ? onPath : plain;
                        Assert.True(expected.Equals(y[b * rows + i]), $"{type} {level} logits {logits} row {i} token {b} ({paths[b]}): {y[b * rows + i]} vs {expected}");
                        if (!onPath.Equals(plain)) differ++;
                    }
                }
            }
        }

        Assert.True(differ > 0, $"{type}: the marked and plain orders gave the same bits everywhere");
    }

    /// <summary>
    /// Q8_0 logits take the whole-block order at every level where the CPU has AVX-VNNI, exactly the
    /// bits of its scalar reference (and Q8_0 products in a layer ggml's, <see cref="MatMulMatchesRowByRowDots"/>);
    /// without it they keep ggml's order and its row dots. Q6_K takes the whole-block order everywhere.
    /// 37 rows: after the 8-row tiles, a 4-row tile and a row dot.
    /// </summary>
    [Theory]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.Q6_K)]
    public void LogitsFollowTheWholeBlockOrder(GgmlType type) =>
        AssertMatMulGives(type, rows: 37, seed: 13, level => WholeBlockOrder.TilesSupported || type == GgmlType.Q6_K
            ? (nint)WholeBlockOrder.RowDot(type, KernelLevel.Scalar) : (nint)VecDot.Get(type, level), logits: true);

    /// <summary>
    /// The whole-block order's vectorized row dots (AVX2 alone for Q4_0 and Q8_0, which CPUs without
    /// AVX-VNNI use for every row; ggml's lanes summed for Q6_K) give exactly their scalar reference's bits.
    /// </summary>
    [Theory]
    [InlineData(GgmlType.Q4_0)]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.Q6_K)]
    public void WholeBlockRowDotsMatchTheScalarReference(GgmlType type)
    {
        if (KernelLevels.Best < KernelLevel.Vector256) return;
        var r = new Random(23);
        var x = new float[K];
        using var act = new ActivationBuffer();
        var vector = WholeBlockOrder.RowDot(type, KernelLevel.Vector256);
        var scalar = WholeBlockOrder.RowDot(type, KernelLevel.Scalar);
        for (int i = 0; i < 20; i++)
        {
            var w = RandomRow(type, r);
            for (int j = 0; j < K; j++) x[j] = (float)r.NextDouble() - 0.5f;
            fixed (byte* wp = w)
            fixed (float* xp = x)
            {
                act.Load(ActivationLayout.For(type), xp, 1, K);
                Assert.Equal(scalar(wp, act.Row(0), K), vector(wp, act.Row(0), K));
            }
        }
    }

    /// <summary>
    /// Products of one activation buffer run together (as Q, K and V are) give each product's own
    /// bits, also when their weight types differ: a repacked Q4_K matrix, a Q6_K one and a Q4_K one
    /// too small to repack, as in a Q4_K_M file.
    /// </summary>
    [Fact]
    public void ProductsRunTogetherGiveTheirOwnResults()
    {
        using var pool = new WorkerPool(2);
        var r = new Random(17);
        const int n = 6;
        (GgmlType Type, int Rows)[] shapes = [(GgmlType.Q4_K, 40), (GgmlType.Q6_K, 72), (GgmlType.Q4_K, 13)];
        var weights = shapes.Select(s => Enumerable.Range(0, s.Rows).SelectMany(_ => RandomRow(s.Type, r)).ToArray()).ToArray();
        var x = new float[n * K];
        for (int i = 0; i < x.Length; i++) x[i] = (float)r.NextDouble() - 0.5f;
        using var act = new ActivationBuffer();
        var alone = shapes.Select(s => new float[n * s.Rows]).ToArray();
        var together = shapes.Select(s => new float[n * s.Rows]).ToArray();
        fixed (byte* w0 = weights[0], w1 = weights[1], w2 = weights[2])
        fixed (float* a0 = alone[0], a1 = alone[1], a2 = alone[2], t0 = together[0], t1 = together[1], t2 = together[2])
        fixed (float* xp = x)
        {
            WeightMatrix[] m = [new(w0, shapes[0].Type, shapes[0].Rows, K), new(w1, shapes[1].Type, shapes[1].Rows, K), new(w2, shapes[2].Type, shapes[2].Rows, K)];
            act.Load(DotType.Q8K, xp, n, K);
            foreach (var level in KernelLevels.Available())
            {
                using var matmul = new MatMul(pool, level);
                matmul.Run(m[0], act, a0, m[0].Rows);
                matmul.Run(m[1], act, a1, m[1].Rows);
                matmul.Run(m[2], act, a2, m[2].Rows);
                matmul.Run([new Product(m[0], t0, m[0].Rows), new Product(m[1], t1, m[1].Rows), new Product(m[2], t2, m[2].Rows)], act);
                for (int i = 0; i < shapes.Length; i++) Assert.Equal(alone[i], together[i]);
            }
        }
    }

    /// <summary>
    /// Random weights and 1 to 9 tokens through <see cref="MatMul"/> at every level, against
    /// <paramref name="dotFor"/>'s row dot (a function pointer); <paramref name="logits"/>: the product's flag.
    /// </summary>
    private static void AssertMatMulGives(GgmlType type, int rows, int seed, Func<KernelLevel, nint> dotFor, bool logits = false)
    {
        using var pool = new WorkerPool(2);
        var r = new Random(seed);
        const int batch = 9;
        int rowBytes = (int)GgmlTypeInfo.RowBytes(type, K);
        var w = new byte[rows * rowBytes];
        for (int i = 0; i < rows; i++) RandomRow(type, r).CopyTo(w, i * rowBytes);
        var x = new float[batch * K];
        for (int i = 0; i < x.Length; i++) x[i] = (float)r.NextDouble() - 0.5f;
        using var act = new ActivationBuffer();
        var y = new float[batch * rows];
        fixed (byte* wp = w)
        fixed (float* yp = y)
        fixed (float* xp = x)
        {
            var m = new WeightMatrix(wp, type, rows, K);
            foreach (var level in KernelLevels.Available())
            {
                var dot = (delegate*<byte*, byte*, int, float>)dotFor(level);
                for (int n = 1; n <= batch; n++)
                {
                    Array.Clear(y);
                    act.Load(ActivationLayout.For(type), xp, n, K, new ParallelRows(pool));
                    using (var matmul = new MatMul(pool, level)) matmul.Run([new Product(m, yp, rows, logits)], act);
                    for (int b = 0; b < n; b++)
                    {
                        for (int i = 0; i < rows; i++)
                        {
                            float expected = dot(m.Row(i), act.Row(b), K);
                            Assert.True(expected.Equals(y[b * rows + i]), $"{type} {level} row {i} token {b}: {y[b * rows + i]} vs {expected}");
                            Assert.Equal(VecDotScalar.Dot(type, m.Row(i), act.Row(b), K), y[b * rows + i], 2);
                        }
                    }
                }
            }
        }
    }

    [Fact]
    public void HalfConversionsAreExactForEveryHalf()
    {
        var h = new ushort[8];
        for (int bits = 0; bits < 65536; bits += 8)
        {
            for (int i = 0; i < 8; i++) h[i] = (ushort)(bits + i);
            fixed (ushort* p = h)
            {
                var v = Fp16.ToFloat(System.Runtime.Intrinsics.Vector128.Load(p));
                for (int i = 0; i < 8; i++)
                {
                    float expected = (float)BitConverter.UInt16BitsToHalf(h[i]);
                    Assert.True(float.IsNaN(expected) ? float.IsNaN(v[i]) : expected.Equals(v[i]), $"half 0x{h[i]:X4}: {v[i]} vs {expected}");
                }
            }
        }
    }
}
