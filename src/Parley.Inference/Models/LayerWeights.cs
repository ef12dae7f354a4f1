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
    public required WeightMatrix Wo { get; init; }
    public required float* FfnNorm { get; init; }
    public required WeightMatrix WGate { get; init; }
    public required WeightMatrix WUp { get; init; }
    public required WeightMatrix WDown { get; init; }
}
