using System.Runtime.InteropServices;
using Parley.Inference.Tensors;

namespace Parley.Inference.Models;

/// <summary>Native working memory of the forward pass, grown to the largest batch seen and then reused.</summary>
public sealed unsafe class ForwardScratch : IDisposable
{
    private readonly ModelConfig _c;
    private readonly List<nint> _blocks = [];

    public ForwardScratch(ModelConfig c) => _c = c;

    public int Capacity { get; private set; }
    public float* X { get; private set; }
    public float* Xn { get; private set; }
    public float* Q { get; private set; }
    public float* K { get; private set; }
    public float* V { get; private set; }
    public float* Attn { get; private set; }
    public float* Proj { get; private set; }
    public float* Gate { get; private set; }
    public float* Up { get; private set; }
    /// <summary>Per-thread attention scores, one padded context length per query of a tile.</summary>
    public float* Scores { get; private set; }
    /// <summary>Per thread: the queries of an attention tile as doubles (QueryTile × head_dim).</summary>
    public double* QueriesF64 { get; private set; }
    /// <summary>Per thread: two cache blocks' keys of one head as floats (<see cref="Attention.KeyBlockFloats"/>).</summary>
    public float* KeyBlocks { get; private set; }
    /// <summary>The batch's positions, one per token.</summary>
    public int* Positions { get; private set; }
    /// <summary>The batch's tokens' kernel paths in llama.cpp, one per token (<see cref="TokenPath"/>).</summary>
    public TokenPath* Paths { get; private set; }
    public ActivationBuffer Activations { get; } = new();

    public void Ensure(int batch, int threads, int context)
    {
        if (batch <= Capacity && Scores != null) return;
        Free();
        Capacity = Math.Max(batch, 1);
        int n = Capacity;
        X = Alloc(n * _c.EmbeddingLength);
        Xn = Alloc(n * Math.Max(_c.EmbeddingLength, _c.FeedForwardLength));
        Q = Alloc(n * _c.QDim);
        K = Alloc(n * _c.KvDim);
        V = Alloc(n * _c.KvDim);
        Attn = Alloc(n * _c.QDim);
        Proj = Alloc(n * _c.EmbeddingLength);
        Gate = Alloc(n * _c.FeedForwardLength);
        Up = Alloc(n * _c.FeedForwardLength);
        Scores = Alloc((long)threads * Attention.ScoresPerThread(context));
        Positions = (int*)Alloc(n);
        Paths = (TokenPath*)Alloc((n + 3) / 4);
        QueriesF64 = (double*)Alloc(2L * threads * Attention.QueryTile * _c.HeadDim);
        KeyBlocks = Alloc((long)threads * Attention.KeyBlockFloats(_c.HeadDim));
    }

    private float* Alloc(long floats)
    {
        var p = (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);
        _blocks.Add((nint)p);
        return p;
    }

    private void Free()
    {
        foreach (var p in _blocks) NativeMemory.AlignedFree((void*)p);
        _blocks.Clear();
    }

    public void Dispose()
    {
        Free();
        Activations.Dispose();
    }
}
