using Parley.Inference.Gguf;

namespace Parley.Inference.Models.Architectures;

/// <summary>
/// Qwen3-MoE (30B-A3B, 235B-A22B): Qwen3's attention, and a mixture of experts for the feed-forward:
/// softmax over the router's logits, the top <c>expert_used_count</c> experts, their weights
/// renormalised to sum to one.
/// </summary>
public sealed class Qwen3Moe : Architecture
{
    public override string Name => "qwen3moe";
    public override bool RopeNeoX => true;
    public override LayerWeights LoadLayer(GgufFile f, ModelConfig c, int layer) => PreNormBlock(f, c, layer, qkNorm: true, experts: true);
}
