namespace Parley.Inference.Tensors;

/// <summary>
/// Splits a row-wise operation of a prompt batch across the pool. Decode steps (one row) run it
/// inline, so they allocate nothing; batches pay for one closure per call.
/// </summary>
public sealed class ParallelRows(WorkerPool pool) : IParallelWork
{
    // A few chunks per thread, each a run of rows: a claim per row would cost as much as a light row.
    private const int ChunksPerThread = 4;

    private Action<int>? _body;
    private int _rows, _chunks;

    public void For(int rows, Action<int> body)
    {
        if (rows == 1 || pool.Threads == 1)
        {
            for (int i = 0; i < rows; i++) body(i);
            return;
        }

        _body = body;
        _rows = rows;
        _chunks = Math.Min(rows, pool.Threads * ChunksPerThread);
        pool.Run(this, _chunks);
        _body = null;
    }

    public void Execute(int participant, int chunk)
    {
        int end = (int)((long)_rows * (chunk + 1) / _chunks);
        for (int i = (int)((long)_rows * chunk / _chunks); i < end; i++) _body!(i);
    }
}
