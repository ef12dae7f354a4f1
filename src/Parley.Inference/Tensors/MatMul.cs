using System.Runtime.InteropServices;
using Parley.Inference.Tensors.X86;
using Parley.Inference.Tensors.Scalar;

namespace Parley.Inference.Tensors;

/// <summary>
/// y[b, n] = W[n, :] · x[b, :] for a batch of activation rows, split across the worker pool by
/// weight rows. Each thread walks its rows in tiles small enough to stay in L1 while every
/// activation row passes over them, so weights are read from memory once per product. Where a
/// matrix kernel exists, 4×4 (or, with AVX-512, 8×4 and 8×8) blocks of (row, token) are computed together;
/// it gives the same bits as the per-row dot product, which covers the rest. Float weights (F32, F16,
/// BF16) against several tokens are widened to F32 once (each row tile into per-thread scratch, the
/// activations once per product) instead of in every dot, since .NET offers no F16C; widening is exact,
/// so the result is that of the same arithmetic on the stored values (<see cref="X86.FloatChains"/>).
/// Q4_0 matrices that llama.cpp repacks follow its repacked kernels' order (<see cref="WholeBlockOrder"/>); Q4_K takes its repacked
/// gemv order for every matrix and token, and its gemm order for the tokens its gemm takes (<see cref="X86.IQ4KOrder"/>),
/// and so do Q8_0 and Q6_K logits, where that order is free to take (<see cref="WholeBlockOrder"/> says why).
/// </summary>
public sealed unsafe class MatMul : IParallelWork, IDisposable
{
    private const int RowTile = 32;
    // Chunks per thread: enough that the others can cover for a thread the OS has descheduled. A
    // served batch's threads are preempted by the HTTP threads, and its chunks are long, so it takes
    // more of them (16 streams served: +3% output tokens/s); a single token keeps fewer, which stay
    // on one thread's rows and in its caches (tg128 4% faster than with sixteen).
    private const int ChunksPerThread = 4;
    private const int BatchChunksPerThread = 16;

    private readonly WorkerPool _pool;
    private readonly KernelLevel _level;
    private Part[] _parts = new Part[3];
    private int _partCount;
    private ActivationBuffer? _x;
    private TokenPath* _paths;
    private float* _xWide;
    private long _xWideFloats;
    private float* _xPairs;
    private long _xPairsFloats;
    private readonly nint[] _rowsWide;
    private long _rowsWideFloats;

    public MatMul(WorkerPool pool, KernelLevel level)
    {
        _pool = pool;
        _level = level;
        _rowsWide = new nint[pool.Threads];
    }

    /// <summary>Multiplies; <paramref name="x"/> must already hold the activations in <paramref name="w"/>'s dot type.</summary>
    public void Run(WeightMatrix w, ActivationBuffer x, float* y, int yStride, TokenPath* paths = null) => Run([new Product(w, y, yStride)], x, paths);

    /// <summary>
    /// Several products of the same activations (the Q, K and V projections; gate and up) in one
    /// pool run, so the threads meet once instead of once per product. Each product's results are
    /// those it gives alone. <paramref name="paths"/>, one per activation row, says which of llama.cpp's
    /// kernel paths the row's token takes, where a weight type's numbers depend on it; null: none
    /// marked. The logits' rows are each their sequence's only output, so they take the single-row path.
    /// </summary>
    public void Run(ReadOnlySpan<Product> products, ActivationBuffer x, TokenPath* paths = null)
    {
        if (products.Length > _parts.Length) _parts = new Part[products.Length];
        bool wideTokens = false, pairs = false;
        int alone = 0, chunks = 0;
        for (int b = 0; paths != null && b < x.Count; b++) alone += (paths[b] & TokenPath.Alone) != 0 ? 1 : 0;
        for (int i = 0; i < products.Length; i++)
        {
            var part = Prepare(products[i], x, chunks, anyPlain: alone < x.Count, anyAlone: alone > 0);
            wideTokens |= part.Widen && part.WideSingle;
            pairs |= part.Widen && part.Chains && alone < x.Count;
            chunks += (part.W.Rows + part.ChunkRows - 1) / part.ChunkRows;
            _parts[i] = part;
        }

        _partCount = products.Length;
        _x = x;
        _paths = paths;
        if (wideTokens || pairs) WidenActivations(x, wideTokens, pairs);
        _pool.Run(this, chunks);
        _x = null;
        _paths = null;
    }

    /// <summary>
    /// One product of a run: its kernels, and its chunks from <paramref name="firstChunk"/> on.
    /// <paramref name="anyPlain"/>, <paramref name="anyAlone"/>: whether some tokens are not alone in
    /// their sequence, and whether some are.
    /// </summary>
    private Part Prepare(Product p, ActivationBuffer x, int firstChunk, bool anyPlain, bool anyAlone)
    {
        var w = p.W;
        if (x.Type != ActivationLayout.For(w.Type) || x.Cols != w.Cols)
        {
            throw new ArgumentException($"activations are {x.Type}×{x.Cols}, the weights need {ActivationLayout.For(w.Type)}×{w.Cols}");
        }

        var part = new Part { W = w, Y = p.Y, YStride = p.YStride, FirstChunk = firstChunk, RowTile = RowTile };
        ref var k = ref part.Plain;
        k.Dot = VecDot.Get(w.Type, _level);
        bool tiles = _level >= KernelLevel.Vector256;
        k.Tile4x4 = tiles ? Block32Vnni.Get4x4(w.Type) : null;
        // A single token on AVX-512: two rows per vector (maddubs, the same ggml lanes) beats the
        // 256-bit VNNI tile, llama3.2-1b-q8_0 tg 1.22x (Zen 5, farm-bench); on AVX2 the VNNI tile wins.
        var vnni4x1 = tiles ? Block32Vnni.Get4x1(w.Type) : null;
        k.Tile4x1 = vnni4x1 != null && _level == KernelLevel.Vector512 ? X86.Block32Kernels.Tile4x1(w.Type, _level) : vnni4x1;
        k.Tile8x4 = _level >= KernelLevel.Vector512 ? Block32VnniAvx512.Get8x4(w.Type) : null;
        if (WholeBlockOrder.Applies(w, p.Logits))
        {
            k.Dot = WholeBlockOrder.RowDot(w.Type, _level);
            k.Tile4x4 = tiles ? WholeBlockOrder.Tile4x4(w.Type) : null;
            k.Tile4x1 = tiles ? WholeBlockOrder.Tile4x1(w.Type, _level) : null;
            k.Tile8x4 = tiles ? WholeBlockOrder.Tile8x4(w.Type, _level) : null;
            k.Tile8x8 = tiles ? WholeBlockOrder.Tile8x8(w.Type, _level) : null;
            k.Tile8x1 = tiles ? WholeBlockOrder.Tile8x1(w.Type, _level) : null;
        }
        else if (w.Type == GgmlType.Q4_K)
        {
            bool wide = _level == KernelLevel.Vector512;
            bool rows4 = tiles && X86.Q4_KRows4Avx2.Supported;
            k.Tile4x4 = rows4 ? &X86.Q4_KRows4Avx2.Rows4Tokens4<X86.GemvOrder> : null;
            k.Tile4x1 = !tiles ? null : wide ? &X86.Q4_KHeader.Rows4Tokens1<X86.Q4_KAvx512> : &X86.Q4_KHeader.Rows4Tokens1<X86.Q4_KAvx2>;
            bool rows8 = wide && X86.Q4_KRows8Avx512.Supported;
            k.Tile8x4 = rows8 ? &X86.Q4_KRows8Avx512.Rows8Tokens4<X86.GemvOrder> : null;
            k.Tile8x8 = rows8 ? &X86.Q4_KRows8Avx512.Rows8Tokens8<X86.GemvOrder> : null;
            if (w.Rows % 8 == 0)
            {
                // The matrices llama.cpp repacks: its gemm takes a sequence's tokens four at a time.
                part.MarkedPath = TokenPath.InGemmGroup;
                part.Marked = new Kernels
                {
                    Dot = &VecDotScalar.Q4_KGemm,
                    Tile4x4 = rows4 ? &X86.Q4_KRows4Avx2.Rows4Tokens4<X86.GemmOrder> : null,
                    Tile8x4 = rows8 ? &X86.Q4_KRows8Avx512.Rows8Tokens4<X86.GemmOrder> : null,
                    Tile8x8 = rows8 ? &X86.Q4_KRows8Avx512.Rows8Tokens8<X86.GemmOrder> : null,
                };
            }
        }
        else if (w.Type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16)
        {
            // A sequence's only token (and the logits) in ggml_vec_dot's order; its other tokens in
            // tinyBLAS's, which takes k a multiple of eight (else llama.cpp dots those one by one too).
            var single = SingleKernels(w.Type, tiles);
            // Widened rows serve the F16 single-token order too, through its AVX-512 tile and only
            // without an F16 tail past the last 64 (summed in double from F16).
            part.WideSingle = w.Type == GgmlType.F16 && w.Cols % 64 == 0 && tiles && SingleTokenDot.TilesSupported;
            part.Tiled = tiles;
            if (p.Logits || w.Cols % 8 != 0)
            {
                k = single;
                part.PlainIsSingle = true;
                part.Widen = part.WideSingle && x.Count > 1;
            }
            else if (!tiles || !X86.FloatChains.Supported)
            {
                // Without vectors, the same order one row dot at a time.
                k = new Kernels { Dot = VecDotScalar.ChainsDot(w.Type) };
                part.MarkedPath = TokenPath.Alone;
                part.Marked = single;
            }
            else
            {
                k = new Kernels { Dot = single.Dot };
                part.MarkedPath = TokenPath.Alone;
                part.Marked = single;
                part.Chains = true;
                part.Widen = anyPlain || (part.WideSingle && anyAlone && x.Count > 1);
                // A tile's widened rows stay in L2 while its tokens pass over them.
                part.RowTile = w.Cols <= 2048 ? RowTile : w.Cols <= 4096 ? RowTile / 2 : RowTile / 4;
            }
        }
        else if (tiles && k.Tile4x4 == null && k.Tile4x1 == null)
        {
            k.Tile4x4 = Q5_KAvx2.Get4x4(w.Type);
            k.Tile4x1 = Q5_KAvx2.Get4x1(w.Type);
            if (k.Tile4x4 == null)
            {
                k.Tile4x4 = X86.Block32Kernels.Tile4x4(w.Type, _level);
                k.Tile4x1 = X86.Block32Kernels.Tile4x1(w.Type, _level);
                k.Tile8x4 = X86.Block32Kernels.Tile8x4(w.Type, _level);
            }
        }

        if (!part.Tiled) part.Tiled = k.Tile4x1 != null;
        int chunks = _pool.Threads * (x.Count > 1 ? BatchChunksPerThread : ChunksPerThread);
        int rowsPerChunk = (w.Rows + chunks - 1) / chunks;
        part.ChunkRows = Math.Max(1, (rowsPerChunk + RowTile - 1) / RowTile) * RowTile;
        return part;
    }

    /// <summary>The single-token kernels of a float type: ggml_vec_dot's order.</summary>
    private static Kernels SingleKernels(GgmlType type, bool tiles) => type switch
    {
        GgmlType.F32 => new Kernels { Dot = &SingleTokenDot.F32, Tile4x1 = tiles && SingleTokenDot.TilesSupported ? &SingleTokenDot.Rows4F32 : null },
        GgmlType.F16 => new Kernels { Dot = &SingleTokenDot.F16, Tile4x1 = tiles && SingleTokenDot.TilesSupported ? &SingleTokenDot.Rows4F16 : null },
        _ => new Kernels { Dot = &SingleTokenDot.BF16, Tile4x1 = tiles ? &SingleTokenDot.Rows4BF16 : null },
    };

    /// <summary>
    /// The activations widened to F32 once for every row tile: row by row for the F16 single-token
    /// tile (<paramref name="rowMajor"/>), as pairs for <see cref="X86.FloatChains"/> (<paramref name="pairs"/>).
    /// </summary>
    private void WidenActivations(ActivationBuffer x, bool rowMajor, bool pairs)
    {
        int k = x.Cols;
        if (rowMajor)
        {
            Ensure(ref _xWide, ref _xWideFloats, (long)x.Count * k);
            X86.FloatChains.Widen(GgmlType.F16, x.Row(0), x.Stride, x.Count, k, _xWide);
        }

        if (pairs)
        {
            var type = x.Type switch { DotType.F16 => GgmlType.F16, DotType.BF16 => GgmlType.BF16, _ => GgmlType.F32 };
            long floats = (long)(x.Count + 1) / 2 * 2 * k;
            Ensure(ref _xPairs, ref _xPairsFloats, floats);
            for (int b = 0; b < x.Count; b++) X86.FloatChains.Interleave(type, x.Row(b), k, b, _xPairs);
            // An odd count's last pair has an empty second slot: zeros, never stored.
            if (x.Count % 2 == 1)
            {
                for (int c = 0; c < k; c += 8) new Span<float>(_xPairs + floats - 2 * k + 2 * c + 8, 8).Clear();
            }
        }

        if ((long)RowTile * k > _rowsWideFloats)
        {
            _rowsWideFloats = (long)RowTile * k;
            for (int t = 0; t < _rowsWide.Length; t++)
            {
                NativeMemory.AlignedFree((void*)_rowsWide[t]);
                _rowsWide[t] = (nint)NativeMemory.AlignedAlloc((nuint)(_rowsWideFloats * sizeof(float)), 64);
            }
        }
    }

    private static void Ensure(ref float* buffer, ref long floats, long need)
    {
        if (need <= floats) return;
        NativeMemory.AlignedFree(buffer);
        buffer = (float*)NativeMemory.AlignedAlloc((nuint)(need * sizeof(float)), 64);
        floats = need;
    }

    public void Execute(int participant, int chunk)
    {
        int p = _partCount - 1;
        while (_parts[p].FirstChunk > chunk) p--;
        ref readonly var part = ref _parts[p];
        var w = part.W;
        int start = (chunk - part.FirstChunk) * part.ChunkRows, end = Math.Min(w.Rows, start + part.ChunkRows);
        int k = w.Cols, batch = _x!.Count;
        for (int r0 = start; r0 < end; r0 += part.RowTile)
        {
            int r1 = Math.Min(end, r0 + part.RowTile);
            // The next tile's rows, requested while this one's tokens pass: the multi-token tiles read
            // rows side by side, which the hardware prefetchers follow poorly (16 decode tokens against
            // a 128256-row Q8_0 output matrix 2.9 -> 7.6 GB/s; single-token tiles prefetch their own).
            if (batch > 1 && r1 < end) X86.RowPrefetch.Bulk(w.Row(r1), (Math.Min(end, r1 + part.RowTile) - r1) * w.RowBytes);
            float* rows = (float*)_rowsWide[participant];
            if (part.Widen) X86.FloatChains.Widen(w.Type, w.Row(r0), w.RowBytes, r1 - r0, k, rows);
            if (part.Marked.Dot == null || _paths == null)
            {
                Stretch(in part, false, r0, r1, rows, 0, batch);
                continue;
            }

            // Stretches of marked and unmarked tokens take their own kernels.
            for (int b0 = 0; b0 < batch;)
            {
                bool marked = (_paths[b0] & part.MarkedPath) != 0;
                int b1 = b0 + 1;
                while (b1 < batch && ((_paths[b1] & part.MarkedPath) != 0) == marked) b1++;
                Stretch(in part, marked, r0, r1, rows, b0, b1);
                b0 = b1;
            }
        }
    }

    /// <summary>Rows r0..r1 against tokens b0..b1, all marked or all not, with the kernels they take.</summary>
    private void Stretch(in Part part, bool marked, int r0, int r1, float* rows, int b0, int b1)
    {
        if (part.Chains && !marked) ChainTokens(in part, r0, r1, rows, b0, b1);
        else if (part.Widen && part.WideSingle && (marked || part.PlainIsSingle)) WideSingleTokens(in part, r0, r1, rows, b0, b1);
        else Tokens(in part, in marked ? ref part.Marked : ref part.Plain, r0, r1, part.Tiled ? r0 + ((r1 - r0) & ~3) : r0, b0, b1);
    }

    /// <summary>
    /// Weight rows r0..r1 (tiles up to <paramref name="tiled"/>) against tokens b0..b1 with kernels
    /// <paramref name="kn"/>: eight- and four-token tiles, then single-token ones, then the row dot
    /// for whatever the tiles leave.
    /// </summary>
    private void Tokens(in Part part, in Kernels kn, int r0, int r1, int tiled, int b0, int b1)
    {
        var w = part.W;
        var x = _x!;
        float* y = part.Y;
        int yStride = part.YStride, k = w.Cols;
        int b = b0;
        if (kn.Tile8x8 != null)
        {
            for (; b + 8 <= b1; b += 8)
            {
                int r = r0;
                for (; r + 8 <= tiled; r += 8) kn.Tile8x8(w.Row(r), w.RowBytes, x.Row(b), x.Stride, k, y + (long)b * yStride + r, yStride);
                for (; r < tiled; r += 4)
                {
                    kn.Tile4x4(w.Row(r), w.RowBytes, x.Row(b), x.Stride, k, y + (long)b * yStride + r, yStride);
                    kn.Tile4x4(w.Row(r), w.RowBytes, x.Row(b + 4), x.Stride, k, y + (long)(b + 4) * yStride + r, yStride);
                }
            }
        }

        if (kn.Tile4x4 != null)
        {
            for (; b + 4 <= b1; b += 4)
            {
                int r = r0;
                if (kn.Tile8x4 != null)
                {
                    for (; r + 8 <= tiled; r += 8) kn.Tile8x4(w.Row(r), w.RowBytes, x.Row(b), x.Stride, k, y + (long)b * yStride + r, yStride);
                }

                for (; r < tiled; r += 4) kn.Tile4x4(w.Row(r), w.RowBytes, x.Row(b), x.Stride, k, y + (long)b * yStride + r, yStride);
            }
        }

        if (kn.Tile4x1 != null)
        {
            for (; b < b1; b++)
            {
                byte* xa = x.Row(b);
                float* yb = y + (long)b * yStride;
                int r = r0;
                if (kn.Tile8x1 != null)
                {
                    for (; r + 8 <= tiled; r += 8) kn.Tile8x1(w.Row(r), w.RowBytes, xa, 0, k, yb + r, 0);
                }

                for (; r < tiled; r += 4) kn.Tile4x1(w.Row(r), w.RowBytes, xa, 0, k, yb + r, 0);
            }
        }

        // Tokens b0..b had rows up to tiled from the tiles; any after b (no single-token tiles) have none.
        for (int t = b0; t < b1; t++)
        {
            byte* xa = x.Row(t);
            float* yt = y + (long)t * yStride;
            for (int r = t < b ? tiled : r0; r < r1; r++) yt[r] = kn.Dot(w.Row(r), xa, k);
        }
    }

    /// <summary>
    /// Widened F16 rows r0..r1 against widened tokens b0..b1 in ggml_vec_dot_f16's order (tokens alone
    /// in their sequence, or logits), which on widened values is the F32 single-token kernel's,
    /// widening being exact; leftover rows take the F16 row dot.
    /// </summary>
    private void WideSingleTokens(in Part part, int r0, int r1, float* rows, int b0, int b1)
    {
        var w = part.W;
        int k = w.Cols, tiled = r0 + ((r1 - r0) & ~3);
        for (int b = b0; b < b1; b++)
        {
            float* xb = _xWide + (long)b * k;
            float* yb = part.Y + (long)b * part.YStride;
            for (int r = r0; r < tiled; r += 4) SingleTokenDot.Rows4F32((byte*)(rows + (long)(r - r0) * k), k * sizeof(float), (byte*)xb, 0, k, yb + r, 0);
            for (int r = tiled; r < r1; r++) yb[r] = SingleTokenDot.F16(w.Row(r), _x!.Row(b), k);
        }
    }

    /// <summary>
    /// Widened float rows r0..r1 against tokens b0..b1 from the widened pairs, in tinyBLAS's order
    /// (<see cref="X86.FloatChains"/>): four pairs at a time with AVX-512, else one; a pair reaching
    /// outside b0..b1 stores only its tokens inside.
    /// </summary>
    private void ChainTokens(in Part part, int r0, int r1, float* rows, int b0, int b1)
    {
        int k = part.W.Cols, yStride = part.YStride, quads = r0 + ((r1 - r0) & ~3);
        bool wide = _level == KernelLevel.Vector512 && X86.FloatChains.WideSupported;
        for (int p = b0 >> 1; 2 * p < b1;)
        {
            float* pair = _xPairs + (long)p * 2 * k;
            float* y = part.Y + (long)2 * p * yStride;
            if (wide && 2 * p >= b0 && 2 * p + 8 <= b1)
            {
                for (int r = r0; r < quads; r += 4) X86.FloatChains.Rows4Pairs4(rows + (long)(r - r0) * k, k, pair, y + r, yStride);
                for (int j = 0; j < 4; j++)
                {
                    for (int r = quads; r < r1; r++) X86.FloatChains.Row1Pair(rows + (long)(r - r0) * k, k, pair + (long)j * 2 * k, y + (long)2 * j * yStride + r, yStride, true, true);
                }

                p += 4;
                continue;
            }

            bool first = 2 * p >= b0, second = 2 * p + 1 < b1;
            for (int r = r0; r < quads; r += 4) X86.FloatChains.Rows4Pair(rows + (long)(r - r0) * k, k, pair, y + r, yStride, first, second);
            for (int r = quads; r < r1; r++) X86.FloatChains.Row1Pair(rows + (long)(r - r0) * k, k, pair, y + r, yStride, first, second);
            p++;
        }
    }

    /// <summary>The kernels that multiply a part's rows with a token or several: a row dot, and tiles where they exist.</summary>
    private struct Kernels
    {
        public delegate*<byte*, byte*, int, float> Dot;
        public delegate*<byte*, int, byte*, int, int, float*, int, void> Tile4x4;

        /// <summary>Eight rows against four tokens, where a kernel exists; the 4×4 tile takes the rows left over.</summary>
        public delegate*<byte*, int, byte*, int, int, float*, int, void> Tile8x4;

        /// <summary>Eight rows against eight tokens, where a kernel exists (it has the 4×4 tile beside it).</summary>
        public delegate*<byte*, int, byte*, int, int, float*, int, void> Tile8x8;
        public delegate*<byte*, int, byte*, int, int, float*, int, void> Tile4x1;

        /// <summary>Eight rows against one token, where a kernel exists (it has the 4×1 tile beside it).</summary>
        public delegate*<byte*, int, byte*, int, int, float*, int, void> Tile8x1;
    }

    /// <summary>A product of a run, with the kernels chosen for its weight type.</summary>
    private struct Part
    {
        public WeightMatrix W;
        public float* Y;
        public int YStride;
        public int FirstChunk;
        public int ChunkRows;

        /// <summary>Rows per tile: 32, fewer where widened rows would outgrow L2.</summary>
        public int RowTile;

        /// <summary>Whether rows are tiled by four (up to the last multiple of four of a tile).</summary>
        public bool Tiled;

        /// <summary>Whether each row tile is widened to F32 for its tokens.</summary>
        public bool Widen;

        /// <summary>Whether the tokens not alone in their sequence take <see cref="X86.FloatChains"/>.</summary>
        public bool Chains;
        public Kernels Plain;

        /// <summary>The kernels for tokens on <see cref="MarkedPath"/>, or none (Dot null) where one path serves every token.</summary>
        public Kernels Marked;
        public TokenPath MarkedPath;

        /// <summary>Whether the plain kernels are the single-token ones (F32 and F16 logits).</summary>
        public bool PlainIsSingle;

        /// <summary>Whether the single-token order may run on widened F16 rows (<see cref="WideTokens"/>).</summary>
        public bool WideSingle;
    }

    public void Dispose()
    {
        NativeMemory.AlignedFree(_xWide);
        _xWide = null;
        _xWideFloats = 0;
        NativeMemory.AlignedFree(_xPairs);
        _xPairs = null;
        _xPairsFloats = 0;
        for (int t = 0; t < _rowsWide.Length; t++)
        {
            NativeMemory.AlignedFree((void*)_rowsWide[t]);
            _rowsWide[t] = 0;
        }

        _rowsWideFloats = 0;
    }
}

/// <summary>
/// One product of a <see cref="MatMul"/> run: y[b · yStride + n] = W[n, :] · x[b, :].
/// <paramref name="logits"/>: y is the model's logits, which nothing quantizes afterwards.
/// </summary>
public readonly unsafe struct Product(WeightMatrix w, float* y, int yStride, bool logits = false)
{
    public WeightMatrix W { get; } = w;
    public float* Y { get; } = y;
    public int YStride { get; } = yStride;
    public bool Logits { get; } = logits;
}
