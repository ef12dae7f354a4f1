using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Parley.Inference.Tensors;

namespace Parley.Inference.Models;

/// <summary>
/// The key/value memory of every sequence, cut into blocks of <see cref="BlockSize"/> positions that
/// sequences own through their <see cref="BlockTable"/>s (vLLM's paged attention). Each block holds,
/// per layer, its keys transposed to [kv_dim][position] (so attention reads a block's sixteen
/// positions of one dimension in one load) and its values as [kv_head][position][head_dim], in the
/// <see cref="KvCacheTypes"/> chosen: F16, or Q8_0 whose scales (one per 32 values of a position's
/// head) follow the quants as F32, [kv_dim/32][position] for keys and [kv_head][position][head_dim/32]
/// for values. Attention reads them through <see cref="ReadKeys"/>, <see cref="ValueHead"/> and <see cref="IValueFormat"/>.
/// </summary>
public sealed unsafe class PagedKvCache : IDisposable
{
    public const int BlockSize = 16;
    private const int B = BlockSize, QK = KvCacheTypes.QK8;

    private void* _allocation;
    private byte* _data;
    private readonly long _keyBytes;
    private readonly long _layerBytes;
    private readonly long _blockBytes;

    public PagedKvCache(ModelConfig c, int blocks, KvCacheTypes? types = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blocks, 1);
        Types = types ?? KvCacheTypes.Default;
        Types.Check(c);
        Layers = c.LayerCount;
        KvDim = c.KvDim;
        HeadDim = c.HeadDim;
        BlockCount = blocks;
        _keyBytes = KvCacheTypes.Bytes(Types.Keys, (long)B * KvDim);
        _layerBytes = _keyBytes + KvCacheTypes.Bytes(Types.Values, (long)B * KvDim);
        _blockBytes = _layerBytes * Layers;
        // Zeroed so that the unwritten tail of a block holds finite numbers for the padded score loops.
        // calloc maps a large pool as untouched zero pages: memory becomes resident only as blocks are
        // first written, so an idle server does not hold its whole pool.
        _allocation = NativeMemory.AllocZeroed((nuint)(_blockBytes * blocks + 63));
        _data = (byte*)(((nint)_allocation + 63) & ~(nint)63);
    }

    public KvCacheTypes Types { get; }
    public int Layers { get; }
    public int KvDim { get; }
    public int HeadDim { get; }
    public int BlockCount { get; }
    public int Tokens => BlockCount * B;
    public long BytesPerBlock => _blockBytes;
    public long Bytes => BytesPerBlock * BlockCount;

    /// <summary>Bytes of one block of this model: keys and values of every layer.</summary>
    public static long BlockBytes(ModelConfig c, KvCacheTypes types) =>
        (KvCacheTypes.Bytes(types.Keys, (long)B * c.KvDim) + KvCacheTypes.Bytes(types.Values, (long)B * c.KvDim)) * c.LayerCount;

    /// <summary>How many blocks fit in <paramref name="megabytes"/> MiB for this model.</summary>
    public static int BlocksFor(ModelConfig c, KvCacheTypes types, long megabytes) => (int)Math.Max(1, megabytes * 1024 * 1024 / BlockBytes(c, types));

    public static int BlocksForPositions(int positions) => (positions + BlockSize - 1) / BlockSize;

    /// <summary>"16384 tokens, K f16, V f16, 512.0 MiB": what the pool holds and takes, for start-up lines.</summary>
    public string Describe() => $"{Tokens} tokens, {Types}, {Bytes / (1024.0 * 1024.0):F1} MiB";

    private byte* Layer(int block, int layer) => _data + block * _blockBytes + layer * _layerBytes;

    /// <summary>
    /// Keys <paramref name="offset"/>..offset+dims-1 of the block's sixteen positions as floats,
    /// dst[d·16 + position]: attention converts a block once and reads it for every query of a tile.
    /// </summary>
    public void ReadKeys(int block, int layer, int offset, int dims, float* dst)
    {
        byte* keys = Layer(block, layer);
        if (Types.Keys == GgmlType.F16)
        {
            ushort* h = (ushort*)keys + offset * B;
            if (Vector512.IsHardwareAccelerated)
            {
                for (int d = 0; d < dims; d++) Vector512.Store(Fp16.ToFloat(Vector256.Load(h + d * B)), dst + d * B);
            }
            else
            {
                for (int i = 0; i < dims * B; i += 8) Vector256.Store(Fp16.ToFloat(Vector128.Load(h + i)), dst + i);
            }

            return;
        }

        sbyte* q = (sbyte*)keys + offset * B;
        float* scales = (float*)(keys + B * KvDim) + offset / QK * B;
        for (int d = 0; d < dims; d++)
        {
            sbyte* qd = q + d * B;
            float* s = scales + d / QK * B, o = dst + d * B; // sixteen positions, each its own scale
            if (Avx512F.IsSupported)
            {
                Vector512.Store(Vector512.ConvertToSingle(Avx512F.ConvertToVector512Int32(Vector128.Load(qd))) * Vector512.Load(s), o);
            }
            else
            {
                for (int i = 0; i < B; i += 8) Vector256.Store(Q8Values.Widen8(qd + i) * Vector256.Load(s + i), o + i);
            }
        }
    }

    /// <summary>Where the values of the head at <paramref name="offset"/> (kv head × head_dim) start in the block: quants, and Q8_0's scales.</summary>
    public (nint Quants, nint Scales) ValueHead(int block, int layer, int offset)
    {
        byte* values = Layer(block, layer) + _keyBytes;
        return Types.Values == GgmlType.F16
            ? ((nint)((ushort*)values + offset * B), 0)
            : ((nint)(values + offset * B), (nint)((float*)(values + B * KvDim) + offset * B / QK));
    }

    /// <summary>Stores one position's key and value (F32, rounded or quantized here) into its block slot.</summary>
    public void Write(int block, int slot, int layer, float* k, float* v)
    {
        byte* keys = Layer(block, layer), values = keys + _keyBytes;
        if (Types.Keys == GgmlType.F16)
        {
            ushort* kt = (ushort*)keys + slot;
            for (int i = 0; i < KvDim; i++) kt[i * B] = Fp16.FromFloat(k[i]);
        }
        else
        {
            sbyte* q = (sbyte*)keys + slot;
            float* scales = (float*)(keys + B * KvDim) + slot;
            for (int g = 0; g < KvDim; g += QK) scales[g / QK * B] = Quantize(k + g, q + g * B, B);
        }

        for (int h = 0; h < KvDim; h += HeadDim)
        {
            int at = h * B + slot * HeadDim; // [kv_head][position][head_dim]
            if (Types.Values == GgmlType.F16)
            {
                ushort* vt = (ushort*)values + at;
                for (int d = 0; d < HeadDim; d++) vt[d] = Fp16.FromFloat(v[h + d]);
            }
            else
            {
                float* scales = (float*)(values + B * KvDim) + at / QK;
                for (int d = 0; d < HeadDim; d += QK) scales[d / QK] = Quantize(v + h + d, (sbyte*)values + at + d, 1);
            }
        }
    }

    /// <summary>
    /// One block of 32 values to Q8_0 as ggml's quantize_row_q8_0 makes it (scale amax/127 kept as
    /// F16, quants rounded half away from zero), written <paramref name="stride"/> bytes apart; returns the scale.
    /// </summary>
    private static float Quantize(float* x, sbyte* q, int stride)
    {
        float amax = 0;
        for (int i = 0; i < QK; i++) amax = MathF.Max(amax, MathF.Abs(x[i]));
        float d = amax / 127, id = d != 0 ? 1 / d : 0;
        for (int i = 0; i < QK; i++) q[i * stride] = (sbyte)MathF.Round(x[i] * id, MidpointRounding.AwayFromZero);
        return Fp16.Round(d);
    }

    public void Dispose()
    {
        NativeMemory.Free(_allocation);
        _allocation = null;
        _data = null;
    }
}

/// <summary>Loads of cached values as floats, by storage type: eight or sixteen consecutive values at <c>slot</c> of a head (<see cref="PagedKvCache.ValueHead"/>).</summary>
internal interface IValueFormat
{
    static abstract unsafe Vector256<float> Load8(nint quants, nint scales, int slot);
    static abstract unsafe Vector512<float> Load16(nint quants, nint scales, int slot);
}

internal readonly struct F16Values : IValueFormat
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector256<float> Load8(nint quants, nint scales, int slot) => Fp16.ToFloat(Vector128.Load((ushort*)quants + slot));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector512<float> Load16(nint quants, nint scales, int slot) => Fp16.ToFloat(Vector256.Load((ushort*)quants + slot));
}

/// <summary>Q8_0: a 32-value block never straddles a load (heads are whole blocks), so one scale serves it.</summary>
internal readonly struct Q8Values : IValueFormat
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector256<float> Load8(nint quants, nint scales, int slot)
    {
        return Widen8((sbyte*)quants + slot) * Vector256.Create(((float*)scales)[slot / KvCacheTypes.QK8]);
    }

    /// <summary>Eight signed bytes as floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector256<float> Widen8(sbyte* q) => Vector256.ConvertToSingle(Avx2.IsSupported
        ? Avx2.ConvertToVector256Int32(q)
        : Vector256.Create(q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7]));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector512<float> Load16(nint quants, nint scales, int slot)
    {
        sbyte* q = (sbyte*)quants + slot;
        var s = Vector512.Create(((float*)scales)[slot / KvCacheTypes.QK8]);
        if (Avx512F.IsSupported) return Vector512.ConvertToSingle(Avx512F.ConvertToVector512Int32(Vector128.Load(q))) * s;
        return Vector512.Create(Widen8(q), Widen8(q + 8)) * s;
    }
}
