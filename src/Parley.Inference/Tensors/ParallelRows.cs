namespace Parley.Inference.Tensors;

/// <summary>
/// Splits a row-wise operation of a prompt batch across the pool. Decode steps (one row) run it
/// inline, so they allocate nothing; batches pay for one closure per call. Light work (a decode
/// step's few rows) also runs inline: handing it to the pool costs more than doing it.
/// </summary>
public sealed class ParallelRows(WorkerPool pool) : IParallelWork
{
    // A few chunks per thread, each a run of rows: a claim per row would cost as much as a light row.
    private const int ChunksPerThread = 4;

    /// <summary>Below this many elements in all (rows × <c>rowElements</c>) one thread does the work: a pool round trip costs about as much as quantizing 16k floats.</summary>
    public const long InlineElements = 16 * 1024;

    private Action<int>? _body;
    private int _rows, _chunks;

    /// <param name="rowElements">How many elements one row touches, to tell light work from heavy.</param>
    public void For(int rows, Action<int> body, int rowElements)
    {
        if (!WorthSplitting(rows, rowElements))
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

    /// <summary>Whether <paramref name="rows"/> rows of <paramref name="rowElements"/> elements are worth the pool's round trip.</summary>
    public bool WorthSplitting(int rows, int rowElements) => rows > 1 && pool.Threads > 1 && (long)rows * rowElements >= InlineElements;

    public void Execute(int participant, int chunk)
    {
        int end = (int)((long)_rows * (chunk + 1) / _chunks);
        for (int i = (int)((long)_rows * chunk / _chunks); i < end; i++) _body!(i);
    }
}
