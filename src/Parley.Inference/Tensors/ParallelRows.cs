namespace Parley.Inference.Tensors;

/// <summary>
/// Splits a row-wise operation of a prompt batch across the pool. Decode steps (one row) run it
/// inline, so they allocate nothing; batches pay for one closure per call.
/// </summary>
public sealed class ParallelRows(WorkerPool pool) : IParallelWork
{
    private Action<int>? _body;

    public void For(int rows, Action<int> body)
    {
        if (rows == 1 || pool.Threads == 1)
        {
            for (int i = 0; i < rows; i++) body(i);
            return;
        }

        _body = body;
        pool.Run(this, rows);
        _body = null;
    }

    public void Execute(int participant, int chunk) => _body!(chunk);
}
