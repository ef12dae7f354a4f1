using System.Runtime.InteropServices;

namespace Parley.Inference.Models;

/// <summary>
/// The keys and values of one sequence, stored as F16 like llama.cpp's default cache, laid out
/// [layer][position][kv_dim]. Native memory sized for the whole context at creation.
/// </summary>
public sealed unsafe class KvCache : IDisposable
{
    private ushort* _k;
    private ushort* _v;

    public KvCache(ModelConfig c, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Layers = c.LayerCount;
        KvDim = c.KvDim;
        Capacity = capacity;
        nuint bytes = (nuint)((long)Layers * capacity * KvDim * sizeof(ushort));
        _k = (ushort*)NativeMemory.AlignedAlloc(bytes, 64);
        _v = (ushort*)NativeMemory.AlignedAlloc(bytes, 64);
    }

    public int Layers { get; }
    public int KvDim { get; }
    public int Capacity { get; }

    /// <summary>Number of positions filled, i.e. the next position to write.</summary>
    public int Length { get; set; }

    public long Bytes => 2L * Layers * Capacity * KvDim * sizeof(ushort);

    public ushort* K(int layer, int pos) => _k + ((long)layer * Capacity + pos) * KvDim;

    public ushort* V(int layer, int pos) => _v + ((long)layer * Capacity + pos) * KvDim;

    public void Dispose()
    {
        NativeMemory.AlignedFree(_k);
        NativeMemory.AlignedFree(_v);
        _k = _v = null;
    }
}
