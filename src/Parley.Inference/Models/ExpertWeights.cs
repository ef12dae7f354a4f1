using Parley.Inference.Tensors;

namespace Parley.Inference.Models;

/// <summary>
/// A mixture-of-experts feed-forward: the router (<c>ffn_gate_inp</c>, one logit per expert) and each
/// expert's SwiGLU matrices, slices of the 3-D <c>ffn_{gate,up,down}_exps</c> tensors.
/// </summary>
public sealed class ExpertWeights
{
    public required WeightMatrix Router { get; init; }
    public required WeightMatrix[] Gate { get; init; }
    public required WeightMatrix[] Up { get; init; }
    public required WeightMatrix[] Down { get; init; }
}
