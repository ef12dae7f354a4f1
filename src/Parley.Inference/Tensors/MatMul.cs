using System.Runtime.InteropServices;

namespace Parley.Inference.Tensors;

/// <summary>
/// y[b, n] = W[n, :] · x[b, :] for a batch of activation rows, split across the worker pool by
/// weight rows. Each thread walks its rows in tiles small enough to stay in L1 while every
/// activation row passes over them, so weights are read from memory once per product. Where a
/// matrix kernel exists, 4×4 blocks of (row, token) are computed together; it gives the same bits
/// as the per-row dot product, which covers the rest. F16 weights against several tokens are widened
/// to F32 once (each row tile into per-thread scratch, the activations once per product) instead of
/// in every dot, since .NET offers no F16C: the arithmetic, and so the result, is the F16 dot's.
/// Q4_0 and Q4_K matrices that llama.cpp repacks follow its repacked kernels' order (<see cref="Q4_0Interleaved"/>, <see cref="Q4_KInterleaved"/>).
/// </summary>
public sealed unsafe class MatMul : IParallelWork, IDisposable
{
    private const int RowTile = 32;
    // Chunks per thread: enough that the others can cover for a thread the OS has descheduled.
    private const int ChunksPerThread = 4;

    private readonly WorkerPool _pool;
    private readonly KernelLevel _level;
    private WeightMatrix _w;
    private ActivationBuffer? _x;
    private float* _y;
    private int _yStride;
    private delegate*<byte*, byte*, int, float> _dot;
    private delegate*<byte*, int, byte*, int, int, float*, int, void> _tile4x4;
    private delegate*<byte*, int, byte*, int, int, float*, int, void> _tile4x1;
    private int _chunkRows;
    private bool _widen;
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
    public void Run(WeightMatrix w, ActivationBuffer x, float* y, int yStride)
    {
        if (x.Type != ActivationLayout.For(w.Type) || x.Cols != w.Cols)
        {
            throw new ArgumentException($"activations are {x.Type}×{x.Cols}, the weights need {ActivationLayout.For(w.Type)}×{w.Cols}");
        }

        _w = w;
        _x = x;
        _y = y;
        _yStride = yStride;
        _dot = VecDot.Get(w.Type, _level);
        bool tiles = _level >= KernelLevel.Vector256;
        _tile4x4 = tiles ? TileDot256.Get4x4(w.Type) : null;
        _tile4x1 = tiles ? TileDot256.Get4x1(w.Type) : null;
        var wide = _level >= KernelLevel.Vector512 ? TileDot512.Get4x4(w.Type) : null;
        if (wide != null) _tile4x4 = wide;
        if (Q4_0Interleaved.Applies(w))
        {
            _dot = Q4_0Interleaved.RowDot;
            _tile4x4 = tiles ? Q4_0Interleaved.Tile4x4 : null;
            _tile4x1 = tiles ? Q4_0Interleaved.Tile4x1 : null;
        }
        else if (Q4_KInterleaved.Applies(w))
        {
            _dot = Q4_KInterleaved.RowDot;
            _tile4x4 = tiles ? Q4_KInterleaved.Tile4x4 : null;
            _tile4x1 = tiles ? Q4_KInterleaved.Tile4x1 : null;
        }
        else if (tiles && _tile4x4 == null && _tile4x1 == null)
        {
            _tile4x4 = TileDotK256.Get4x4(w.Type);
            _tile4x1 = TileDotK256.Get4x1(w.Type);
        }

        _widen = _tile4x1 != null && w.Type == GgmlType.F16 && x.Count > 1;
        if (_widen) WidenActivations(x);
        int rowsPerChunk = (w.Rows + _pool.Threads * ChunksPerThread - 1) / (_pool.Threads * ChunksPerThread);
        _chunkRows = Math.Max(1, (rowsPerChunk + RowTile - 1) / RowTile) * RowTile;
        _pool.Run(this, (w.Rows + _chunkRows - 1) / _chunkRows);
        _x = null;
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
        int start = chunk * _chunkRows, end = Math.Min(_w.Rows, start + _chunkRows);
        var x = _x!;
        int k = _w.Cols, batch = x.Count;
        for (int r0 = start; r0 < end; r0 += RowTile)
        {
            int r1 = Math.Min(end, r0 + RowTile);
            if (_widen)
            {
                WideTile(r0, r1, (float*)_rowsWide[participant], k, batch);
                continue;
            }

            int tiled = _tile4x1 == null ? r0 : r0 + ((r1 - r0) & ~3);
            int b = 0;
            if (_tile4x4 != null)
            {
                for (; b + 4 <= batch; b += 4)
                {
                    for (int r = r0; r < tiled; r += 4)
                    {
                        _tile4x4(_w.Row(r), _w.RowBytes, x.Row(b), x.Stride, k, _y + (long)b * _yStride + r, _yStride);
                    }
                }
            }

            for (; b < batch; b++)
            {
                byte* xa = x.Row(b);
                float* yb = _y + (long)b * _yStride;
                for (int r = r0; r < tiled; r += 4) _tile4x1(_w.Row(r), _w.RowBytes, xa, 0, k, yb + r, 0);
            }

            for (b = 0; b < batch; b++)
            {
                byte* xa = x.Row(b);
                float* yb = _y + (long)b * _yStride;
                for (int r = tiled; r < r1; r++) yb[r] = _dot(_w.Row(r), xa, k);
            }
        }
    }

    /// <summary>Rows r0..r1 of F16 weights, widened once, against every widened token; leftover rows take the F16 row dot.</summary>
    private void WideTile(int r0, int r1, float* rows, int k, int batch)
    {
        int tiled = r0 + ((r1 - r0) & ~3);
        for (int r = r0; r < tiled; r++) Fp16.ToFloat(new ReadOnlySpan<ushort>(_w.Row(r), k), new Span<float>(rows + (long)(r - r0) * k, k));
        for (int b = 0; b < batch; b++)
        {
            float* xb = _xWide + (long)b * k;
            float* yb = _y + (long)b * _yStride;
            for (int r = r0; r < tiled; r += 4) TileDotF16.Rows4Tokens1Wide(rows + (long)(r - r0) * k, k, xb, yb + r);
            for (int r = tiled; r < r1; r++) yb[r] = _dot(_w.Row(r), _x!.Row(b), k);
        }
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
