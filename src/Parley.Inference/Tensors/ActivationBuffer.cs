using System.Runtime.InteropServices;

namespace Parley.Inference.Tensors;

/// <summary>
/// Native, 64-byte aligned scratch holding a batch of activation rows converted to a dot type.
/// Grows when asked for more; reused across steps so decoding allocates nothing.
/// </summary>
public sealed unsafe class ActivationBuffer : IDisposable
{
    private byte* _data;
    private long _capacity;

    public DotType Type { get; private set; }
    public int Cols { get; private set; }
    public int Count { get; private set; }
    public int Stride { get; private set; }

    public byte* Row(int i) => _data + (long)i * Stride;

    /// <summary>Converts <paramref name="count"/> rows of <paramref name="cols"/> floats from <paramref name="x"/> (row-major), across the pool when given one.</summary>
    public void Load(DotType type, float* x, int count, int cols, ParallelRows? parallel = null)
    {
        int stride = ActivationLayout.RowStride(type, cols);
        long need = (long)stride * count;
        if (need > _capacity)
        {
            NativeMemory.AlignedFree(_data);
            _data = (byte*)NativeMemory.AlignedAlloc((nuint)need, 64);
            _capacity = need;
        }

        Type = type;
        Cols = cols;
        Count = count;
        Stride = stride;
        if (parallel is null || !parallel.WorthSplitting(count, cols))
        {
            for (int i = 0; i < count; i++) ActivationQuantizer.QuantizeRow(type, new ReadOnlySpan<float>(x + (long)i * cols, cols), Row(i));
            return;
        }

        parallel.For(count, i => ActivationQuantizer.QuantizeRow(type, new ReadOnlySpan<float>(x + (long)i * cols, cols), Row(i)), cols);
    }

    public void Dispose()
    {
        NativeMemory.AlignedFree(_data);
        _data = null;
        _capacity = 0;
    }
}
