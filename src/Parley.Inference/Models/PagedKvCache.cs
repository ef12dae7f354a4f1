using System.Runtime.InteropServices;

namespace Parley.Inference.Models;

/// <summary>
/// The key/value memory of every sequence, cut into blocks of <see cref="BlockSize"/> positions that
/// sequences own through their <see cref="BlockTable"/>s (vLLM's paged attention). Each block holds,
/// per layer, its keys transposed to [kv_dim][position] (so attention reads eight positions' keys
/// per load) and its values as [kv_head][position][head_dim]. Entries are stored as F32 that are already rounded
/// to F16, so the numbers are those of llama.cpp's F16 cache while attention needs no conversion.
/// </summary>
public sealed unsafe class PagedKvCache : IDisposable
{
    public const int BlockSize = 16;

    private void* _allocation;
    private float* _data;
    private readonly long _layerFloats;
    private readonly long _blockFloats;

    public PagedKvCache(ModelConfig c, int blocks)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blocks, 1);
        Layers = c.LayerCount;
        KvDim = c.KvDim;
        HeadDim = c.HeadDim;
        BlockCount = blocks;
        _layerFloats = 2L * BlockSize * KvDim;
        _blockFloats = _layerFloats * Layers;
        // Zeroed so that the unwritten tail of a block holds finite numbers for the padded score loops.
        // calloc maps a large pool as untouched zero pages: memory becomes resident only as blocks are
        // first written, so an idle server does not hold its whole pool.
        _allocation = NativeMemory.AllocZeroed((nuint)(_blockFloats * blocks * sizeof(float) + 63));
        _data = (float*)(((nint)_allocation + 63) & ~(nint)63);
    }

    public int Layers { get; }
    public int KvDim { get; }
    public int HeadDim { get; }
    public int BlockCount { get; }
    public long BytesPerBlock => _blockFloats * sizeof(float);
    public long Bytes => BytesPerBlock * BlockCount;

    /// <summary>Bytes of one block of this model: keys and values of every layer.</summary>
    public static long BlockBytes(ModelConfig c) => 2L * BlockSize * c.KvDim * c.LayerCount * sizeof(float);

    /// <summary>How many blocks fit in <paramref name="megabytes"/> MiB for this model.</summary>
    public static int BlocksFor(ModelConfig c, long megabytes) => (int)Math.Max(1, megabytes * 1024 * 1024 / BlockBytes(c));

    public static int BlocksForPositions(int positions) => (positions + BlockSize - 1) / BlockSize;

    /// <summary>Keys of <paramref name="layer"/> in <paramref name="block"/>: [kv_dim][BlockSize].</summary>
    public float* Keys(int block, int layer) => _data + block * _blockFloats + layer * _layerFloats;

    /// <summary>Values of <paramref name="layer"/> in <paramref name="block"/>: [kv_heads][BlockSize][head_dim], so one head's values of a block are contiguous.</summary>
    public float* Values(int block, int layer) => Keys(block, layer) + BlockSize * KvDim;

    /// <summary>Stores one position's key and value (already rounded to F16 precision) into its block slot.</summary>
    public void Write(int block, int slot, int layer, float* k, float* v)
    {
        float* kt = Keys(block, layer) + slot;
        for (int i = 0; i < KvDim; i++) kt[i * BlockSize] = k[i];
        float* vt = Values(block, layer) + slot * HeadDim;
        for (int h = 0; h < KvDim; h += HeadDim) new ReadOnlySpan<float>(v + h, HeadDim).CopyTo(new Span<float>(vt + h * BlockSize, HeadDim));
    }

    public void Dispose()
    {
        NativeMemory.Free(_allocation);
        _allocation = null;
        _data = null;
    }
}
