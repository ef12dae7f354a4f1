namespace Parley.Inference.Tensors;

/// <summary>
/// y[b, n] = W[n, :] · x[b, :] for a batch of activation rows, split across the worker pool by
/// weight rows. Each thread walks its rows in tiles small enough to stay in L1 while every
/// activation row passes over them, so weights are read from memory once per product.
/// </summary>
public sealed unsafe class MatMul : IParallelWork
{
    private const int RowTile = 16;

    private readonly WorkerPool _pool;
    private readonly KernelLevel _level;
    private WeightMatrix _w;
    private ActivationBuffer? _x;
    private float* _y;
    private int _yStride;
    private delegate*<byte*, byte*, int, float> _dot;

    public MatMul(WorkerPool pool, KernelLevel level)
    {
        _pool = pool;
        _level = level;
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
        _pool.Run(this);
        _x = null;
    }

    public void Execute(int index, int count)
    {
        int rows = _w.Rows;
        int per = (rows + count - 1) / count;
        int start = index * per, end = Math.Min(rows, start + per);
        var x = _x!;
        int k = _w.Cols, batch = x.Count;
        for (int r0 = start; r0 < end; r0 += RowTile)
        {
            int r1 = Math.Min(end, r0 + RowTile);
            for (int b = 0; b < batch; b++)
            {
                byte* xa = x.Row(b);
                float* yb = _y + (long)b * _yStride;
                for (int r = r0; r < r1; r++) yb[r] = _dot(_w.Row(r), xa, k);
            }
        }
    }
}
