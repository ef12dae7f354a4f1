namespace Parley.Inference.Tensors;

/// <summary>
/// Splits a row-wise operation of a prompt batch across the pool. Decode steps (one row) run it
/// inline, so they allocate nothing; batches pay for one closure per call.
/// </summary>
public sealed class ParallelRows(WorkerPool pool) : IParallelWork
{
    private Action<int>? _body;
    private int _rows;

    public void For(int rows, Action<int> body)
    {
        if (rows == 1 || pool.Threads == 1)
        {
            for (int i = 0; i < rows; i++) body(i);
            return;
        }

        _body = body;
        _rows = rows;
        pool.Run(this);
        _body = null;
    }

    public void Execute(int index, int count)
    {
        int per = (_rows + count - 1) / count;
        for (int i = index * per; i < Math.Min(_rows, (index + 1) * per); i++) _body!(i);
    }
}
