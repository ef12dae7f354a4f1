using Parley.Inference.Tensors;

namespace Parley.Inference.Models;

/// <summary>The tensors of one transformer block. Norm weights and biases are F32 vectors in the mapping.</summary>
public sealed unsafe class LayerWeights
{
    public required float* AttnNorm { get; init; }
    public required WeightMatrix Wq { get; init; }
    public required WeightMatrix Wk { get; init; }
    public required WeightMatrix Wv { get; init; }
    public float* Bq { get; init; }
    public float* Bk { get; init; }
    public float* Bv { get; init; }
    /// <summary>Per-head RMS norm weights of q and k (one head wide), applied before RoPE; null when the family has none.</summary>
    public float* QNorm { get; init; }
    public float* KNorm { get; init; }
    public required WeightMatrix Wo { get; init; }
    public required float* FfnNorm { get; init; }
    /// <summary>The dense feed-forward; unset in a mixture-of-experts block.</summary>
    public WeightMatrix WGate { get; init; }
    public WeightMatrix WUp { get; init; }
    public WeightMatrix WDown { get; init; }
    /// <summary>The mixture-of-experts feed-forward, or null in a dense block.</summary>
    public ExpertWeights? Experts { get; init; }
}
