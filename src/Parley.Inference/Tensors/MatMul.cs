using System.Runtime.InteropServices;

namespace Parley.Inference.Tensors;

/// <summary>
/// y[b, n] = W[n, :] · x[b, :] for a batch of activation rows, split across the worker pool by
/// weight rows. Each thread walks its rows in tiles small enough to stay in L1 while every
/// activation row passes over them, so weights are read from memory once per product. Where a
/// matrix kernel exists, 4×4 (or, with AVX-512, 8×4 and 8×8) blocks of (row, token) are computed together;
/// it gives the same bits as the per-row dot product, which covers the rest. F16 weights against
/// several tokens are widened to F32 once (each row tile into per-thread scratch, the activations
/// once per product) instead of in every dot, since .NET offers no F16C: the arithmetic, and so the
/// result, is the F16 dot's.
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
        bool widen = false;
        int chunks = 0;
        for (int i = 0; i < products.Length; i++)
        {
            var part = Prepare(products[i], x, chunks);
            widen |= part.Widen;
            chunks += (part.W.Rows + part.ChunkRows - 1) / part.ChunkRows;
            _parts[i] = part;
        }

        _partCount = products.Length;
        _x = x;
        _paths = paths;
        if (widen) WidenActivations(x);
        _pool.Run(this, chunks);
        _x = null;
        _paths = null;
    }

    /// <summary>One product of a run: its kernels, and its chunks from <paramref name="firstChunk"/> on.</summary>
    private Part Prepare(Product p, ActivationBuffer x, int firstChunk)
    {
        var w = p.W;
        if (x.Type != ActivationLayout.For(w.Type) || x.Cols != w.Cols)
        {
            throw new ArgumentException($"activations are {x.Type}×{x.Cols}, the weights need {ActivationLayout.For(w.Type)}×{w.Cols}");
        }

        var part = new Part { W = w, Y = p.Y, YStride = p.YStride, FirstChunk = firstChunk };
        ref var k = ref part.Plain;
        k.Dot = VecDot.Get(w.Type, _level);
        bool tiles = _level >= KernelLevel.Vector256;
        k.Tile4x4 = tiles ? TileDot256.Get4x4(w.Type) : null;
        k.Tile4x1 = tiles ? TileDot256.Get4x1(w.Type) : null;
        k.Tile8x4 = _level >= KernelLevel.Vector512 ? TileDot512.Get8x4(w.Type) : null;
        if (WholeBlockOrder.Applies(w, p.Logits))
        {
            k.Dot = WholeBlockOrder.RowDot(w.Type, _level);
            k.Tile4x4 = tiles ? WholeBlockOrder.Tile4x4(w.Type) : null;
            k.Tile4x1 = tiles ? WholeBlockOrder.Tile4x1(w.Type) : null;
            k.Tile8x4 = _level >= KernelLevel.Vector512 ? WholeBlockOrder.Tile8x4(w.Type) : null;
            k.Tile8x8 = _level >= KernelLevel.Vector512 ? WholeBlockOrder.Tile8x8(w.Type) : null;
            k.Tile8x1 = _level >= KernelLevel.Vector512 ? WholeBlockOrder.Tile8x1(w.Type) : null;
        }
        else if (w.Type == GgmlType.Q4_K)
        {
            bool wide = _level == KernelLevel.Vector512;
            k.Tile4x4 = !tiles ? null : wide ? &X86.Q4_KHeader.Rows4Tokens4<X86.Q4_KAvx512, X86.GemvOrder> : &X86.Q4_KHeader.Rows4Tokens4<X86.Q4_KAvx2, X86.GemvOrder>;
            k.Tile4x1 = !tiles ? null : wide ? &X86.Q4_KHeader.Rows4Tokens1<X86.Q4_KAvx512> : &X86.Q4_KHeader.Rows4Tokens1<X86.Q4_KAvx2>;
            k.Tile8x4 = null;
            if (w.Rows % 8 == 0)
            {
                // The matrices llama.cpp repacks: its gemm takes a sequence's tokens four at a time.
                part.MarkedPath = TokenPath.InGemmGroup;
                part.Marked = new Kernels
                {
                    Dot = &VecDotScalar.Q4_KGemm,
                    Tile4x4 = !tiles ? null : wide ? &X86.Q4_KHeader.Rows4Tokens4<X86.Q4_KAvx512, X86.GemmOrder> : &X86.Q4_KHeader.Rows4Tokens4<X86.Q4_KAvx2, X86.GemmOrder>,
                };
            }
        }
        else if (w.Type is GgmlType.F32 or GgmlType.F16)
        {
            var single = new Kernels { Dot = w.Type == GgmlType.F32 ? &SingleTokenDot.F32 : &SingleTokenDot.F16 };
            if (tiles && SingleTokenDot.TilesSupported) single.Tile4x1 = w.Type == GgmlType.F32 ? &SingleTokenDot.Rows4F32 : &SingleTokenDot.Rows4F16;
            if (p.Logits)
            {
                k = single;
                part.PlainIsSingle = true;
            }
            else
            {
                part.MarkedPath = TokenPath.Alone;
                part.Marked = single;
            }
        }
        else if (tiles && k.Tile4x4 == null && k.Tile4x1 == null)
        {
            k.Tile4x4 = TileDotK256.Get4x4(w.Type);
            k.Tile4x1 = TileDotK256.Get4x1(w.Type);
            if (w.Type == GgmlType.Q6_K && _level == KernelLevel.Vector512 && X86.Q6_KAvx512.Supported)
            {
                k.Tile4x4 = &X86.Q6_KAvx512.Rows4Tokens4;
                k.Tile4x1 = &X86.Q6_KAvx512.Rows4Tokens1;
            }

            if (k.Tile4x4 == null)
            {
                k.Tile4x4 = X86.Block32Kernels.Tile4x4(w.Type, _level);
                k.Tile4x1 = X86.Block32Kernels.Tile4x1(w.Type, _level);
                k.Tile8x4 = X86.Block32Kernels.Tile8x4(w.Type, _level);
            }
        }

        // Widened rows serve the single-token order too (widening is exact), through its AVX-512 tile
        // and only without an F16 tail past the last 64 (summed in double from F16).
        part.WideSingle = w.Type == GgmlType.F16 && w.Cols % 64 == 0 && tiles && SingleTokenDot.TilesSupported;
        part.Widen = k.Tile4x1 != null && w.Type == GgmlType.F16 && x.Count > 1 && (!part.PlainIsSingle || part.WideSingle);
        int chunks = _pool.Threads * (x.Count > 1 ? BatchChunksPerThread : ChunksPerThread);
        int rowsPerChunk = (w.Rows + chunks - 1) / chunks;
        part.ChunkRows = Math.Max(1, (rowsPerChunk + RowTile - 1) / RowTile) * RowTile;
        return part;
    }

    private void WidenActivations(ActivationBuffer x)
    {
        int k = x.Cols;
        long need = (long)x.Count * k;
        if (need > _xWideFloats)
        {
            NativeMemory.AlignedFree(_xWide);
            _xWide = (float*)NativeMemory.AlignedAlloc((nuint)(need * sizeof(float)), 64);
            _xWideFloats = need;
        }

        for (int b = 0; b < x.Count; b++) Fp16.ToFloat(new ReadOnlySpan<ushort>(x.Row(b), k), new Span<float>(_xWide + (long)b * k, k));
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

    public void Execute(int participant, int chunk)
    {
        int p = _partCount - 1;
        while (_parts[p].FirstChunk > chunk) p--;
        ref readonly var part = ref _parts[p];
        var w = part.W;
        int start = (chunk - part.FirstChunk) * part.ChunkRows, end = Math.Min(w.Rows, start + part.ChunkRows);
        int k = w.Cols, batch = _x!.Count;
        for (int r0 = start; r0 < end; r0 += RowTile)
        {
            int r1 = Math.Min(end, r0 + RowTile);
            int tiled = part.Plain.Tile4x1 == null ? r0 : r0 + ((r1 - r0) & ~3);
            float* rows = (float*)_rowsWide[participant];
            if (part.Widen) WidenRows(w, r0, tiled, rows);
            if (part.Marked.Dot == null || _paths == null)
            {
                if (part.Widen) WideTokens(in part, in part.Plain, part.PlainIsSingle, r0, r1, rows, 0, batch);
                else Tokens(in part, in part.Plain, r0, r1, tiled, 0, batch);
                continue;
            }

            // Stretches of marked and unmarked tokens take their own kernels.
            for (int b0 = 0; b0 < batch;)
            {
                bool marked = (_paths[b0] & part.MarkedPath) != 0;
                int b1 = b0 + 1;
                while (b1 < batch && ((_paths[b1] & part.MarkedPath) != 0) == marked) b1++;
                ref readonly var kn = ref marked ? ref part.Marked : ref part.Plain;
                if (part.Widen && (!marked || part.WideSingle)) WideTokens(in part, in kn, marked, r0, r1, rows, b0, b1);
                else Tokens(in part, in kn, r0, r1, tiled, b0, b1);
                b0 = b1;
            }
        }
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

    /// <summary>F16 weight rows r0..tiled widened into <paramref name="rows"/>, once per row tile for all its tokens.</summary>
    private static void WidenRows(WeightMatrix w, int r0, int tiled, float* rows)
    {
        int k = w.Cols;
        for (int r = r0; r < tiled; r++) Fp16.ToFloat(new ReadOnlySpan<ushort>(w.Row(r), k), new Span<float>(rows + (long)(r - r0) * k, k));
    }

    /// <summary>
    /// Widened F16 rows r0..r1 (<see cref="WidenRows"/>) against widened tokens b0..b1; leftover rows
    /// take the row dot of <paramref name="kn"/>. <paramref name="single"/>: in ggml_vec_dot_f16's
    /// order (tokens alone in their sequence, or logits), which on widened values is the F32
    /// single-token kernel's, widening being exact.
    /// </summary>
    private void WideTokens(in Part part, in Kernels kn, bool single, int r0, int r1, float* rows, int b0, int b1)
    {
        var w = part.W;
        int k = w.Cols, tiled = r0 + ((r1 - r0) & ~3);
        for (int b = b0; b < b1; b++)
        {
            float* xb = _xWide + (long)b * k;
            float* yb = part.Y + (long)b * part.YStride;
            for (int r = r0; r < tiled; r += 4)
            {
                float* rw = rows + (long)(r - r0) * k;
                if (single) SingleTokenDot.Rows4F32((byte*)rw, k * sizeof(float), (byte*)xb, 0, k, yb + r, 0);
                else TileDotF16.Rows4Tokens1Wide(rw, k, xb, yb + r);
            }

            for (int r = tiled; r < r1; r++) yb[r] = kn.Dot(w.Row(r), _x!.Row(b), k);
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
        public bool Widen;
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
