namespace Parley.Inference.Models;

/// <summary>The blocks of a <see cref="PagedKvCache"/> that hold one sequence, in position order.</summary>
public sealed class BlockTable
{
    private int[] _ids = new int[8];

    public int Count { get; private set; }

    public int this[int index] => index < Count ? _ids[index] : throw new ArgumentOutOfRangeException(nameof(index));

    /// <summary>Positions the table can hold.</summary>
    public int Capacity => Count * PagedKvCache.BlockSize;

    public void Add(int block)
    {
        if (Count == _ids.Length) Array.Resize(ref _ids, _ids.Length * 2);
        _ids[Count++] = block;
    }

    public void Set(int index, int block)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
        _ids[index] = block;
    }

    public ReadOnlySpan<int> AsSpan() => _ids.AsSpan(0, Count);

    public void Clear() => Count = 0;
}
